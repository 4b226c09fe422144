//go:build unix

package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkOwner refuses a file or directory another user owns (writing audit events into it
// would hand them to that user, and chmod would change their file) and a regular file
// with more than one name.
func checkOwner(fi fs.FileInfo, path string) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Geteuid(); int(st.Uid) != uid {
		return fmt.Errorf("%s is owned by uid %d, not by the agent's uid %d; refusing to use it", path, st.Uid, uid)
	}
	// A second name for a file (a hard link planted beside the path) would make the
	// agent write to, and chmod, a file it never meant to.
	if fi.Mode().IsRegular() && st.Nlink > 1 {
		return fmt.Errorf("%s has %d hard links; refusing to use it", path, st.Nlink)
	}
	return nil
}

const (
	noFollow = syscall.O_NOFOLLOW
	nonBlock = syscall.O_NONBLOCK
)

// isLoop reports the error O_NOFOLLOW gives for a symbolic link.
func isLoop(err error) bool { return errors.Is(err, syscall.ELOOP) }

// writable asks the kernel whether entries can be created in dir (access(2), W_OK). Only
// a read-only filesystem is reported: `validate` may run as another user than the agent
// (an operator checking a DaemonSet's config), so a permission it lacks says nothing.
func writable(dir string) error {
	if err := syscall.Access(dir, 0x2); errors.Is(err, syscall.EROFS) {
		return err
	}
	return nil
}

// checkLinkOwner refuses a symbolic link on the way to a written file that neither root
// nor the agent's effective user owns (see checkLinks).
func checkLinkOwner(fi fs.FileInfo, path string) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Geteuid(); st.Uid != 0 && int(st.Uid) != uid {
		return fmt.Errorf("%s is a symbolic link owned by uid %d (neither root nor the agent's uid %d): %w", path, st.Uid, uid, ErrForeignSymlink)
	}
	return nil
}
