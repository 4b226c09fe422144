//go:build unix

package file

import (
	"errors"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func keyOf(fi os.FileInfo) fileKey {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileKey{Dev: uint64(st.Dev), Ino: uint64(st.Ino)} //nolint:unconvert // int32 on some platforms
	}
	return fileKey{}
}

// unlinked reports whether an open file no longer has a name.
func unlinked(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Nlink == 0
}

// dataStart is where f's first data after a leading hole begins (SEEK_DATA), or 0 where
// the file system cannot tell; f's offset is left where it was.
func dataStart(f *os.File) int64 {
	cur, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0
	}
	defer f.Seek(cur, io.SeekStart) //nolint:errcheck // back to where it was
	off, err := f.Seek(0, unix.SEEK_DATA)
	switch {
	case errors.Is(err, unix.ENXIO): // no data at all: one hole
		if fi, err := f.Stat(); err == nil {
			return fi.Size()
		}
		return 0
	case err != nil:
		return 0
	}
	return off
}
