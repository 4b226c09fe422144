//go:build !unix

package file

import "os"

// Without inodes a file is known by its fingerprint alone.
func keyOf(os.FileInfo) fileKey { return fileKey{} }

func unlinked(os.FileInfo) bool { return false }

// dataStart cannot skip holes here: NULs are read.
func dataStart(*os.File) int64 { return 0 }
