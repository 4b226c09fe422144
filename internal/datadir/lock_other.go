//go:build !unix

package datadir

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("would block")

// lockFile does not lock outside Unix.
func lockFile(*os.File) error { return nil }
