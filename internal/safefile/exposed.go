package safefile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ExposedDir returns a warning when a directory on the way to path (its parent or any
// directory above it that exists) may be written by every user and has no sticky bit: any
// local user can then delete or rename the agent's file, or the directory holding it, and
// put their own in its place — the audit trail written there is not protected, even though
// the agent itself refuses to write through what they plant. It returns "" otherwise. The
// sticky bit (/tmp) keeps others from removing what the agent created.
func ExposedDir(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() &&
			fi.Mode().Perm()&0o002 != 0 && fi.Mode()&fs.ModeSticky == 0 {
			return fmt.Sprintf("%s: directory %s is writable by every user (mode %#o, no sticky bit): anyone on the node can delete or replace the file; use a directory only root (or the agent's user) can write", path, dir, fi.Mode().Perm())
		}
		if parent := filepath.Dir(dir); parent == dir {
			return ""
		}
	}
}
