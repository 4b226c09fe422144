//go:build !unix

package file

import "os"

// Without inodes a file is known by its fingerprint alone.
func keyOf(os.FileInfo) fileKey { return fileKey{} }

func unlinked(os.FileInfo) bool { return false }
