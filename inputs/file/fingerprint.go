package file

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
)

// fingerprint identifies a file by content: the SHA-256 of its first Len bytes
// (uncompressed, for a .gz). The first line of an audit file carries a unique auditID, so
// a fingerprint survives rename and compression and tells a reused inode from the file
// that had it before. Only the hash is kept, never the bytes, so no event content lands
// in the checkpoint.
type fingerprint struct {
	Len  int
	Hash [sha256.Size]byte
}

func newFingerprint(prefix []byte) fingerprint {
	return fingerprint{Len: len(prefix), Hash: sha256.Sum256(prefix)}
}

// matches reports whether a file starting with prefix is the file fp was taken from.
// A file only grows, so its longer prefix must start with the bytes fp was taken over
// (StartsWith); an empty fingerprint matches nothing, since every file starts empty.
func (fp fingerprint) matches(prefix []byte) bool {
	if fp.Len == 0 || len(prefix) < fp.Len {
		return false
	}
	return sha256.Sum256(prefix[:fp.Len]) == fp.Hash
}

func (fp fingerprint) String() string { return hex.EncodeToString(fp.Hash[:]) }

func parseFingerprint(s string, n int) (fingerprint, error) {
	fp := fingerprint{Len: n}
	if n == 0 {
		return fp, nil
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return fp, fmt.Errorf("invalid fingerprint %q", s)
	}
	copy(fp.Hash[:], b)
	return fp, nil
}

// fileKey is a file's device and inode: cheap to compare, but reused after deletion, so
// it is always confirmed by a fingerprint.
type fileKey struct{ Dev, Ino uint64 }

// readPrefix returns up to n leading bytes of the file at path (decompressed for gz) and
// the identity of the file it actually opened, so a rename between stat and open is
// noticed by the caller.
func readPrefix(path string, gz bool, n int) ([]byte, fileKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileKey{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileKey{}, fmt.Errorf("stat %s: %w", path, err)
	}
	key := keyOf(fi)
	b, err := prefixOf(f, gz, n)
	if err != nil {
		return nil, key, fmt.Errorf("read %s: %w", path, err)
	}
	return b, key, nil
}

func prefixOf(f *os.File, gz bool, n int) ([]byte, error) {
	var src io.Reader = io.NewSectionReader(f, 0, int64(n))
	if gz {
		zr, err := gzip.NewReader(io.NewSectionReader(f, 0, 1<<62))
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil, nil // still being written: no identity yet
			}
			return nil, err
		}
		defer zr.Close()
		src = io.LimitReader(zr, int64(n))
	}
	var buf bytes.Buffer
	_, err := io.Copy(&buf, src)
	if gz && err == io.ErrUnexpectedEOF {
		err = nil // a gz still being written: what decompressed so far is its prefix
	}
	return buf.Bytes(), err
}
