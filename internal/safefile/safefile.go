// Package safefile opens and creates the files and directories the agent writes (file
// output, dead-letter files, checkpoints, the data_dir lock, CPU profiles, objects under a
// file:// store) so that a root-run agent cannot be steered into writing somewhere else:
//
//   - the last path component is never followed when it is a symbolic link (O_NOFOLLOW): a
//     link planted where the agent writes is refused, not written through;
//   - a file that does not exist is created with O_CREAT|O_EXCL, mode 0600;
//   - a file that exists must be a regular file owned by the agent's effective user; it is
//     then set to 0600 (a file created by hand or by an older version may be wider);
//   - directories the agent creates are 0700; its own state directories (data_dir and what
//     is under it) are tightened to 0700 when found wider.
//
// Directories above the last component are followed as the operating system does (an
// operator may well keep data_dir behind a symlink), unless the link is owned by a user
// other than root or the agent's: such a link was planted by whoever can write its
// directory, and is refused. Appends are whole or not at all
// (AppendAll), so a full disk never leaves half a batch in a file.
package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FileMode and DirMode are the modes of what the agent writes.
const (
	FileMode fs.FileMode = 0o600
	DirMode  fs.FileMode = 0o700
)

// ErrSymlink is returned (wrapped) when the file to write is a symbolic link.
var ErrSymlink = errors.New("is a symbolic link; refusing to write through it")

// ErrForeignSymlink is returned (wrapped) when a directory on the way to what the agent
// writes is reached through a symbolic link another user owns (see checkLinks).
var ErrForeignSymlink = errors.New("refusing to write through it")

// OpenAppend opens path for appending, creating it (0600) when absent; see the package
// comment for the checks on an existing file.
func OpenAppend(path string) (*os.File, error) {
	return open(path, os.O_WRONLY|os.O_APPEND)
}

// OpenTruncate opens path for writing from its start, creating it (0600) when absent. An
// existing file is emptied only after it passed the checks.
func OpenTruncate(path string) (*os.File, error) {
	f, err := open(path, os.O_WRONLY)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("truncate %s: %w", path, err)
	}
	return f, nil
}

// OpenLock opens path read-write for a lock, with the same checks.
func OpenLock(path string) (*os.File, error) {
	return open(path, os.O_RDWR)
}

func open(path string, flags int) (*os.File, error) {
	if err := checkLinks(path); err != nil {
		return nil, err
	}
	// Two rounds: the file may be removed between a failed exclusive create and the open.
	for range 2 {
		f, err := os.OpenFile(path, flags|os.O_CREATE|os.O_EXCL|noFollow, FileMode)
		if err == nil {
			// The umask may have narrowed 0600 only; set it all the same, it is cheap.
			if err := f.Chmod(FileMode); err != nil {
				f.Close()
				return nil, fmt.Errorf("chmod %s: %w", path, err)
			}
			return f, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, openErr(path, err)
		}
		// O_NONBLOCK: a FIFO planted at the path must not hang the open; the check
		// below refuses it.
		f, err = os.OpenFile(path, flags|noFollow|nonBlock, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, openErr(path, err)
		}
		if err := checkExisting(f, path); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
	return nil, fmt.Errorf("open %s: it keeps appearing and disappearing", path)
}

// openErr names a refused symlink plainly (O_NOFOLLOW reports ELOOP).
func openErr(path string, err error) error {
	if isLoop(err) {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("open %s: %w", path, ErrSymlink)
		}
	}
	return err // an *fs.PathError, naming the operation and path
}

// checkExisting checks the opened file (not the path, which may have changed since) is a
// regular file the agent's user owns, and sets it to 0600.
func checkExisting(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s); refusing to write to it", path, fi.Mode().Type())
	}
	if err := checkOwner(fi, path); err != nil {
		return err
	}
	if fi.Mode().Perm() != FileMode {
		if err := f.Chmod(FileMode); err != nil {
			return fmt.Errorf("chmod %s: %w", path, err)
		}
	}
	return nil
}

// MkdirAll creates dir and any missing parents with mode 0700 (not narrowed by the umask
// alone: a created directory is set to 0700 explicitly). Existing directories are left as
// they are: an output's directory may be a shared one such as /var/log. A symbolic link
// another user owns on the way is refused (see checkLinks).
func MkdirAll(dir string) error {
	if err := checkLinks(dir); err != nil {
		return err
	}
	return mkdirAll(dir)
}

func mkdirAll(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, DirMode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			if fi, serr := os.Stat(dir); serr == nil && fi.IsDir() {
				return nil // made by another goroutine or process meanwhile
			}
		}
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	if err := os.Chmod(dir, DirMode); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	return nil
}

// PrivateDir makes dir one of the agent's own directories: created 0700 when missing;
// when found, it must be a directory the agent's user owns, and is set to 0700 when wider.
// It is for data_dir and the directories under it, never for a directory an operator
// shares with others.
func PrivateDir(dir string) error {
	if err := MkdirAll(dir); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("stat %s: %w", dir, err)
	}
	if err := checkOwner(fi, dir); err != nil {
		return err
	}
	if fi.Mode().Perm() != DirMode {
		if err := os.Chmod(dir, DirMode); err != nil {
			return fmt.Errorf("chmod %s: %w", dir, err)
		}
	}
	return nil
}

// MkdirUnder creates root (as MkdirAll) and then each directory of rel below it, 0700,
// refusing any component below root that is a symbolic link or not a directory: the
// directories under root are the agent's own (object-key prefixes), and a link planted
// among them must not carry its writes elsewhere. It returns the joined path.
func MkdirUnder(root, rel string) (string, error) {
	if err := MkdirAll(root); err != nil {
		return "", err
	}
	dir := root
	for _, part := range strings.Split(filepath.Clean(filepath.FromSlash(rel)), string(filepath.Separator)) {
		if part == "" || part == "." {
			continue
		}
		if part == ".." {
			return "", fmt.Errorf("%s: .. in a path under %s", rel, root)
		}
		dir = filepath.Join(dir, part)
		fi, err := os.Lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(dir, DirMode); err != nil && !errors.Is(err, fs.ErrExist) {
				return "", fmt.Errorf("create directory %s: %w", dir, err)
			} else if err == nil {
				if err := os.Chmod(dir, DirMode); err != nil {
					return "", fmt.Errorf("chmod %s: %w", dir, err)
				}
				continue
			}
			if fi, err = os.Lstat(dir); err != nil {
				return "", fmt.Errorf("stat %s: %w", dir, err)
			}
		case err != nil:
			return "", fmt.Errorf("stat %s: %w", dir, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return "", fmt.Errorf("directory %s: %w", dir, ErrSymlink)
		}
		if !fi.IsDir() {
			return "", fmt.Errorf("%s is not a directory", dir)
		}
	}
	return dir, nil
}

// Check reports what would stop OpenAppend (with MkdirAll of its directory) from opening
// path, without creating anything: an existing path must be a regular file the agent's
// user owns (not a symlink, not a directory); a missing one needs its nearest existing
// ancestor to be a directory that takes new entries. `validate` calls it.
func Check(path string) error {
	if err := checkLinks(path); err != nil {
		return err
	}
	fi, err := os.Lstat(path)
	switch {
	case err == nil:
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: %w", path, ErrSymlink)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
		}
		return checkOwner(fi, path)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := CheckDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// CheckDir reports what would stop the agent from creating files in dir (MkdirAll, then
// new files), without creating anything: an existing dir must be a directory that takes
// new entries; a missing one needs its nearest existing ancestor to. `validate` calls it
// for data_dir.
func CheckDir(dir string) error {
	for d := dir; ; {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is not a directory", d)
			}
			if err := writable(d); err != nil {
				return fmt.Errorf("cannot create files in %s: %w", d, err)
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		parent := filepath.Dir(d)
		if parent == d {
			return fmt.Errorf("%s: no existing directory above it", dir)
		}
		d = parent
	}
}
