package file

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
)

// fingerprint identifies a file by content: the SHA-256 of its first Len bytes
// (uncompressed, for a .gz) after any leading run of NUL bytes, whose length is Lead. The
// first line of an audit file carries a unique auditID, so a fingerprint survives rename
// and compression and tells a reused inode from the file that had it before. A NUL run is
// no content: after a copytruncate a writer that kept its offset starts every new file
// with one, so by their first KiB all such files would look the same. Only the hash is
// kept, never the bytes, so no event content lands in the checkpoint.
type fingerprint struct {
	Len  int
	Lead int64
	Hash [sha256.Size]byte
}

// sample is a file's first bytes after its leading NUL run, and that run's length.
type sample struct {
	b    []byte
	lead int64
}

func newFingerprint(s sample) fingerprint {
	return fingerprint{Len: len(s.b), Lead: s.lead, Hash: sha256.Sum256(s.b)}
}

// matches reports whether a file whose first bytes are s is the file fp was taken from.
// A file only grows, so its longer prefix must start with the bytes fp was taken over
// (StartsWith); an empty fingerprint matches nothing, since every file starts empty.
func (fp fingerprint) matches(s sample) bool {
	if fp.Len == 0 || len(s.b) < fp.Len || s.lead != fp.Lead {
		return false
	}
	return sha256.Sum256(s.b[:fp.Len]) == fp.Hash
}

func (fp fingerprint) String() string { return hex.EncodeToString(fp.Hash[:]) }

func parseFingerprint(s string, n int, lead int64) (fingerprint, error) {
	fp := fingerprint{Len: n, Lead: lead}
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

// readPrefix returns up to n leading bytes of the file at path (decompressed for gz)
// after its NUL run, and the identity of the file it actually opened, so a rename between
// stat and open is noticed by the caller.
func readPrefix(path string, gz bool, n int) (sample, fileKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return sample{}, fileKey{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return sample{}, fileKey{}, fmt.Errorf("stat %s: %w", path, err)
	}
	key := keyOf(fi)
	s, err := prefixOf(f, gz, n)
	if err != nil {
		return sample{}, key, fmt.Errorf("read %s: %w", path, err)
	}
	return s, key, nil
}

// errGzipIncomplete: a .gz too short to hold a gzip header.
var errGzipIncomplete = errors.New("gzip header incomplete")

// maxGzipNULLead bounds the NULs decompressed to find where a .gz's content starts: a
// gzip of zeros shrinks a thousandfold.
const maxGzipNULLead = 64 << 20

// prefixOf reads f's sample without moving its offset. A plain file's NUL run is mostly
// a hole, skipped with SEEK_DATA where the file system supports it.
func prefixOf(f *os.File, gz bool, n int) (sample, error) {
	var (
		src  io.Reader
		from int64
	)
	if gz {
		zr, err := gzip.NewReader(io.NewSectionReader(f, 0, 1<<62))
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return sample{}, errGzipIncomplete // being written, or cut: no identity yet
			}
			return sample{}, err
		}
		defer zr.Close()
		src = io.LimitReader(zr, maxGzipNULLead+int64(n))
	} else {
		from = dataStart(f)
		src = io.NewSectionReader(f, from, 1<<62)
	}
	br := bufio.NewReaderSize(src, 64<<10)
	lead := from
	for {
		buf, err := br.Peek(max(br.Buffered(), 1))
		if len(buf) == 0 {
			if gz && err == io.ErrUnexpectedEOF {
				err = nil // a gz still being written: what decompressed so far is its prefix
			}
			if err == io.EOF {
				err = nil
			}
			return sample{lead: lead}, err
		}
		nb := br.Buffered()
		k := leadingNULs(buf[:nb])
		lead += int64(k)
		_, _ = br.Discard(k)
		if k < nb {
			break
		}
	}
	var buf bytes.Buffer
	_, err := io.Copy(&buf, io.LimitReader(br, int64(n)))
	if gz && err == io.ErrUnexpectedEOF {
		err = nil
	}
	return sample{b: buf.Bytes(), lead: lead}, err
}
