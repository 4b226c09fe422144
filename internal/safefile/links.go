package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxLinks bounds the links followed while checking a path, as the kernel's own limit
// (40 on Linux) does; past it the open itself reports ELOOP.
const maxLinks = 40

// checkLinks refuses a path that goes through a symbolic link owned by a user other than
// root or the agent's: a link is written by whoever may write its directory, so one
// planted in a world-writable (or group-writable, or another user's) directory above
// the file would steer the root-run agent's appends, chmods and creations to any
// directory, and O_NOFOLLOW guards the last component only. This extends Linux's
// fs.protected_symlinks rule (follow a link in a sticky world-writable directory only
// when it is the follower's) to every directory on the path, since that sysctl may be
// off and a non-sticky 0777 directory is not covered by it. Links root or the agent own
// are followed: an operator's data_dir behind a symlink stays legitimate.
//
// The path is walked component by component as the kernel resolves it (a link's target
// replaces it, .. applies to the resolved directory); the walk stops at the first
// component that does not exist (what is missing the agent creates itself, 0700) or
// cannot be read (the open then reports why). A link swapped in after the check is not
// caught: the check narrows the window to the time between it and the open.
func checkLinks(path string) error {
	if !filepath.IsAbs(path) {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("resolve %s: %w", path, err)
		}
		path = wd + string(filepath.Separator) + path // not Join: it would clean a .. lexically
	}
	rest := splitPath(path)
	cur := string(filepath.Separator)
	for links := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, c)
		fi, err := os.Lstat(next)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return nil // the open or mkdir that follows reports it
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if err := checkLinkOwner(fi, next); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if links++; links > maxLinks {
			return nil
		}
		target, err := os.Readlink(next)
		if err != nil {
			return nil
		}
		if filepath.IsAbs(target) {
			cur = string(filepath.Separator)
		}
		rest = append(splitPath(target), rest...)
	}
	return nil
}

// CheckLinks reports, as checkLinks, a symbolic link on the way to path that neither root
// nor the agent's user owns; for files the agent reads whose content it trusts (credential
// files), where whoever owns such a link chooses what is read.
func CheckLinks(path string) error { return checkLinks(path) }

func splitPath(p string) []string { return strings.Split(p, string(filepath.Separator)) }
