package main

import (
	"errors"
	"os"
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

// TestAnalyzeReportRefusesForeignFiles (issue 21 kind 1): an analyze report or emitted
// config is not written through a symlink nor into a hard link of another file, and the
// file it points at is not truncated.
func TestAnalyzeReportRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "report.html")
	victim := fsfault.PlantSymlink(t, dir, link)
	if err := writeNewFile(link, []byte("report")); !errors.Is(err, safefile.ErrSymlink) {
		t.Fatalf("write through a symlink: %v", err)
	}
	hard := filepath.Join(dir, "config.yaml")
	if err := os.Link(victim.Path, hard); err != nil {
		t.Fatal(err)
	}
	if err := writeNewFile(hard, []byte("config")); err == nil {
		t.Fatal("wrote into a hard link")
	}
	victim.Untouched(t)
}
