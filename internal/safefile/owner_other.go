//go:build !unix

package safefile

import "io/fs"

// checkOwner has no owner to compare outside Unix.
func checkOwner(fs.FileInfo, string) error { return nil }

const (
	noFollow = 0
	nonBlock = 0
)

func isLoop(error) bool { return false }

func writable(string) error { return nil }

func checkLinkOwner(fs.FileInfo, string) error { return nil }
