package miniotest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindUsesTheCacheOnly: Find returns the cached build when it is there, and
// otherwise an error naming the command that installs it and the override, without
// building anything.
func TestFindUsesTheCacheOnly(t *testing.T) {
	t.Setenv(BinEnv, "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	bin, err := BinaryPath()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Find(); err == nil || !strings.Contains(err.Error(), InstallCommand) || !strings.Contains(err.Error(), BinEnv) {
		t.Fatalf("Find() without a cached MinIO: %v, want an error naming %q and %s", err, InstallCommand, BinEnv)
	}
	if _, err := os.Stat(filepath.Dir(bin)); !os.IsNotExist(err) {
		t.Fatalf("Find created or built something at %s: %v", filepath.Dir(bin), err)
	}
	for _, mode := range []os.FileMode{0o600, 0o700} {
		if err := os.MkdirAll(filepath.Dir(bin), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(bin, mode); err != nil {
			t.Fatal(err)
		}
		got, err := Find()
		if executable := mode&0o100 != 0; executable != (err == nil) || (executable && got != bin) {
			t.Fatalf("Find() with a cached file of mode %v = %q, %v", mode, got, err)
		}
	}
}
