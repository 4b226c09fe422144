// Package fsfault sets up the filesystem faults the agent's tests meet: a full disk (a
// small tmpfs) and a symlink planted where the agent writes, pointing at a file that must
// stay untouched.
package fsfault

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Mount mounts a tmpfs of size bytes on a temporary directory for the test (root only;
// the test is skipped when mounting is not allowed) and unmounts it at cleanup.
func Mount(t testing.TB, size int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// victimContent and victimMode are what a planted symlink's target holds.
const (
	victimContent = "precious\n"
	victimMode    = 0o644
)

// Victim is a file a planted symlink points at.
type Victim struct{ Path string }

// PlantSymlink creates a file (0644) in dir and a symlink to it at link.
func PlantSymlink(t testing.TB, dir, link string) Victim {
	t.Helper()
	v := Victim{Path: filepath.Join(dir, "victim")}
	if err := os.WriteFile(v.Path, []byte(victimContent), victimMode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(v.Path, victimMode); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(v.Path, link); err != nil {
		t.Fatal(err)
	}
	return v
}

// Untouched fails the test when the victim's content or mode changed.
func (v Victim) Untouched(t testing.TB) {
	t.Helper()
	b, err := os.ReadFile(v.Path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != victimContent {
		t.Errorf("the symlink's target was written: %q", b)
	}
	if fi, err := os.Stat(v.Path); err != nil || fi.Mode().Perm() != victimMode {
		t.Errorf("the symlink's target changed mode: %v %v", fi.Mode().Perm(), err)
	}
}

// Fill writes into dir (a Mount) until its filesystem is full, leaving about free bytes.
func Fill(t testing.TB, dir string, free int64) {
	t.Helper()
	path := filepath.Join(dir, ".fill")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(max(fi.Size()-free, 0)); err != nil {
		t.Fatal(err)
	}
}

// ReadOnly remounts dir (a Mount) read-only: even root cannot write to it then.
func ReadOnly(t testing.TB, dir string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s read-only: %v: %s", dir, err, out)
	}
}
