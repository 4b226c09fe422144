//go:build unix

package file

import (
	"os"
	"syscall"
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
