package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOpenRefuses: every way a planted path could redirect a write is refused, and the
// file it points at keeps its content and mode.
func TestOpenRefuses(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir, path, victim string)
		want  string
	}{
		{"symlink to a file", func(t *testing.T, dir, path, victim string) {
			must(t, os.Symlink(victim, path))
		}, "symbolic link"},
		{"dangling symlink", func(t *testing.T, dir, path, victim string) {
			must(t, os.Symlink(filepath.Join(dir, "nothing"), path))
		}, "symbolic link"},
		{"symlink to a directory", func(t *testing.T, dir, path, victim string) {
			must(t, os.Symlink(dir, path))
		}, "symbolic link"},
		{"directory", func(t *testing.T, dir, path, victim string) {
			must(t, os.Mkdir(path, 0o700))
		}, "directory"},
		{"fifo", func(t *testing.T, dir, path, victim string) {
			must(t, syscall.Mkfifo(path, 0o600))
		}, ""}, // refused by the open (ENXIO without a reader) or the check
		{"hard link", func(t *testing.T, dir, path, victim string) {
			must(t, os.Link(victim, path))
		}, "hard links"},
		{"owned by another user", func(t *testing.T, dir, path, victim string) {
			if os.Geteuid() != 0 {
				t.Skip("chown needs root")
			}
			must(t, os.WriteFile(path, []byte("theirs\n"), 0o644))
			must(t, os.Chown(path, 65534, 65534))
		}, "owned by uid 65534"},
	}
	opens := map[string]func(string) (*os.File, error){
		"OpenAppend": OpenAppend, "OpenTruncate": OpenTruncate, "OpenLock": OpenLock,
	}
	for _, c := range cases {
		for oname, open := range opens {
			t.Run(c.name+"/"+oname, func(t *testing.T) {
				dir := t.TempDir()
				victim := filepath.Join(dir, "victim")
				must(t, os.WriteFile(victim, []byte("precious\n"), 0o644))
				path := filepath.Join(dir, "out.ndjson")
				c.setup(t, dir, path, victim)
				before, _ := os.Lstat(path)
				f, err := open(path)
				if err == nil {
					f.Close()
					t.Fatalf("%s opened %s", oname, c.name)
				}
				if !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %q does not say %q", err, c.want)
				}
				if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
					t.Fatalf("victim content changed: %q", b)
				}
				if fi, _ := os.Stat(victim); fi.Mode().Perm() != 0o644 {
					t.Fatalf("victim mode changed to %v", fi.Mode().Perm())
				}
				if after, _ := os.Lstat(path); before != nil && after.Mode() != before.Mode() {
					t.Fatalf("path mode changed from %v to %v", before.Mode(), after.Mode())
				}
				if _, err := os.Lstat(filepath.Join(dir, "nothing")); err == nil {
					t.Fatal("a dangling symlink's target was created")
				}
			})
		}
	}
}

// TestOpenModes: created files are 0600 whatever the umask; an existing own file is set
// to 0600 and keeps (append) or loses (truncate) its content.
func TestOpenModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	cases := []struct {
		name     string
		existing bool
		open     func(string) (*os.File, error)
		want     string
	}{
		{"append new", false, OpenAppend, "x"},
		{"append existing", true, OpenAppend, "old\nx"},
		{"truncate new", false, OpenTruncate, "x"},
		{"truncate existing", true, OpenTruncate, "x"},
		{"lock existing", true, OpenLock, "xld\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			if c.existing {
				must(t, os.WriteFile(path, []byte("old\n"), 0o666))
			}
			f, err := c.open(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Write([]byte("x"))
			must(t, err)
			must(t, f.Close())
			fi, err := os.Stat(path)
			must(t, err)
			if fi.Mode().Perm() != FileMode {
				t.Fatalf("mode %v, want %v", fi.Mode().Perm(), FileMode)
			}
			if b, _ := os.ReadFile(path); string(b) != c.want {
				t.Fatalf("content %q, want %q", b, c.want)
			}
		})
	}
}

func TestDirs(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	root := t.TempDir()

	deep := filepath.Join(root, "a", "b", "c")
	must(t, MkdirAll(deep))
	for _, d := range []string{filepath.Join(root, "a"), filepath.Join(root, "a", "b"), deep} {
		if fi, _ := os.Stat(d); fi.Mode().Perm() != DirMode {
			t.Fatalf("%s created %v, want %v", d, fi.Mode().Perm(), DirMode)
		}
	}

	shared := filepath.Join(root, "shared")
	must(t, os.Mkdir(shared, 0o755))
	must(t, MkdirAll(shared))
	if fi, _ := os.Stat(shared); fi.Mode().Perm() != 0o755 {
		t.Fatalf("MkdirAll changed an existing directory to %v", fi.Mode().Perm())
	}
	must(t, PrivateDir(shared))
	if fi, _ := os.Stat(shared); fi.Mode().Perm() != DirMode {
		t.Fatalf("PrivateDir left %v, want %v", fi.Mode().Perm(), DirMode)
	}

	file := filepath.Join(root, "file")
	must(t, os.WriteFile(file, nil, 0o600))
	if err := MkdirAll(filepath.Join(file, "sub")); err == nil {
		t.Fatal("MkdirAll under a regular file succeeded")
	}
	if err := PrivateDir(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("PrivateDir on a file: %v", err)
	}

	if os.Geteuid() == 0 {
		theirs := filepath.Join(root, "theirs")
		must(t, os.Mkdir(theirs, 0o755))
		must(t, os.Chown(theirs, 65534, 65534))
		if err := PrivateDir(theirs); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
			t.Fatalf("PrivateDir on another user's directory: %v", err)
		}
		if fi, _ := os.Stat(theirs); fi.Mode().Perm() != 0o755 {
			t.Fatalf("another user's directory changed to %v", fi.Mode().Perm())
		}
	}
}

func TestSymlinkErrorIs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "l")
	must(t, os.Symlink(filepath.Join(dir, "t"), path))
	if _, err := OpenAppend(path); !errors.Is(err, ErrSymlink) {
		t.Fatalf("error %v is not ErrSymlink", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMkdirUnder(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	root := filepath.Join(t.TempDir(), "store")
	elsewhere := t.TempDir()
	cases := []struct {
		name  string
		setup func(t *testing.T)
		rel   string
		want  string // error substring; "" for success
	}{
		{"creates each level 0700", nil, "a/b/c", ""},
		{"existing levels", nil, "a/b", ""},
		{"symlinked level", func(t *testing.T) { must(t, os.Symlink(elsewhere, filepath.Join(root, "a", "link"))) }, "a/link/x", "symbolic link"},
		{"file in the way", func(t *testing.T) { must(t, os.WriteFile(filepath.Join(root, "a", "f"), nil, 0o600)) }, "a/f/x", "not a directory"},
		{"dot dot", nil, "../x", ".."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup(t)
			}
			dir, err := MkdirUnder(root, c.rel)
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %v, want %q", err, c.want)
				}
				if entries, _ := os.ReadDir(elsewhere); len(entries) > 0 {
					t.Fatal("created something through the symlink")
				}
				return
			}
			must(t, err)
			if dir != filepath.Join(root, c.rel) {
				t.Fatalf("dir %s", dir)
			}
			for d := dir; d != filepath.Dir(root); d = filepath.Dir(d) {
				if fi, _ := os.Stat(d); fi.Mode().Perm() != DirMode {
					t.Fatalf("%s is %v", d, fi.Mode().Perm())
				}
			}
		})
	}
}

// TestCheck: what OpenAppend would refuse, Check reports without creating anything.
func TestCheck(t *testing.T) {
	root := t.TempDir()
	must(t, os.WriteFile(filepath.Join(root, "file"), nil, 0o600))
	must(t, os.Mkdir(filepath.Join(root, "dir"), 0o700))
	must(t, os.Symlink(filepath.Join(root, "file"), filepath.Join(root, "link")))
	cases := []struct {
		path, want string // want: error substring, "" for none
	}{
		{"file", ""},
		{"new.ndjson", ""},
		{"a/b/new.ndjson", ""},
		{"dir", "not a regular file"},
		{"link", "symbolic link"},
		{"file/new.ndjson", "not a directory"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			err := Check(filepath.Join(root, c.path))
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("Check: %v, want %q", err, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(root, "a")); err == nil {
		t.Fatal("Check created a directory")
	}
}
