package main

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/auditship/auditship/internal/fsfault"
	"github.com/auditship/auditship/internal/safefile"
)

// TestCPUProfileRefusesSymlink (issue 21 kind 1): --cpuprofile neither truncates nor
// chmods the file a symlink at its path points to.
func TestCPUProfileRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cpu.pprof")
	victim := fsfault.PlantSymlink(t, dir, path)
	if stop, err := startCPUProfile(path); !errors.Is(err, safefile.ErrSymlink) {
		if err == nil {
			stop()
		}
		t.Fatalf("startCPUProfile through a symlink: %v", err)
	}
	victim.Untouched(t)
}
