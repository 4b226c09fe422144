package datadir

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditship/auditship/internal/fsfault"
)

// TestSecondAgentRefused (issue 20 kind 6): while one agent holds data_dir, a second
// (in this process or another) is refused with a message naming the holder; once the
// first releases it, the next one gets it.
func TestSecondAgentRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Acquire: %v, want ErrLocked", err)
	}
	if want := fmt.Sprintf("pid %d", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Fatalf("message %q does not name the holder (%s)", err, want)
	}
	if out, err := helper(t, dir); err == nil || !strings.Contains(out, "in use by another auditship") {
		t.Fatalf("another process acquired the held data_dir: %v: %s", err, out)
	}
	first.Release()
	if out, err := helper(t, dir); err != nil {
		t.Fatalf("another process after release: %v: %s", err, out)
	}
	again, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	again.Release()
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, LockName): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: %v %v, want %v", path, fi.Mode().Perm(), err, want)
		}
	}
}

// helper runs this test binary as a second agent that acquires dir (see TestMain).
func helper(t *testing.T, dir string) (string, error) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "DATADIR_ACQUIRE="+dir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestMain is a second agent when DATADIR_ACQUIRE names a data_dir: it acquires it and
// exits 0, or prints why not and exits 3.
func TestMain(m *testing.M) {
	if dir := os.Getenv("DATADIR_ACQUIRE"); dir != "" {
		c, err := Acquire(dir)
		if err != nil {
			fmt.Println(err)
			os.Exit(3)
		}
		c.Release()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestUnusableDataDir (issue 20 kind 5): an agent refuses to start on a data_dir where a
// checkpoint could not be saved.
func TestUnusableDataDir(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T) string
		want  string
	}{
		{"read-only filesystem", func(t *testing.T) string {
			dir := fsfault.Mount(t, 1<<20)
			fsfault.ReadOnly(t, dir)
			return dir
		}, "read-only"},
		{"full filesystem", func(t *testing.T) string {
			dir := fsfault.Mount(t, 256<<10)
			if err := os.WriteFile(filepath.Join(dir, LockName), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			fsfault.Fill(t, dir, 0)
			return dir
		}, "not writable"},
		{"a regular file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, "not a directory"},
		{"another user's directory", func(t *testing.T) string {
			if os.Geteuid() != 0 {
				t.Skip("chown needs root")
			}
			p := filepath.Join(t.TempDir(), "theirs")
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return p
		}, "owned by uid 65534"},
		{"lock file is a symlink", func(t *testing.T) string {
			dir := t.TempDir()
			fsfault.PlantSymlink(t, t.TempDir(), filepath.Join(dir, LockName))
			return dir
		}, "symbolic link"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := c.setup(t)
			claim, err := Acquire(dir)
			if err == nil {
				claim.Release()
				t.Fatal("acquired an unusable data_dir")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}

// TestDirectoriesTightened (issue 21 kind 1): data_dir and the directories found under it
// are set to 0700; one another user owns there stops the start.
func TestDirectoriesTightened(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"inputs", "dlq", "dlq/old"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.Release()
	for _, d := range []string{"", "inputs", "dlq", "dlq/old"} {
		if fi, _ := os.Stat(filepath.Join(dir, d)); fi.Mode().Perm() != 0o700 {
			t.Errorf("%q left at %v", d, fi.Mode().Perm())
		}
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(filepath.Join(dir, "dlq", "old"), 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if c, err := Acquire(dir); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
			c.Release()
			t.Fatalf("Acquire with another user's directory inside: %v", err)
		}
	}
}
