package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/auditship/auditship/internal/fsfault"
)

func TestCheckpointStoreRoundTripAndModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "inputs")
	s := NewCheckpointStore(filepath.Join(dir, "in.json"))
	var v map[string]int64
	ok, err := s.Load(&v)
	if err != nil || ok {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	if err := s.Save(map[string]int64{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(map[string]int64{"a": 2}); err != nil {
		t.Fatal(err)
	}
	ok, err = s.Load(&v)
	if err != nil || !ok || v["a"] != 2 {
		t.Fatalf("load: ok=%v err=%v v=%v", ok, err, v)
	}
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("checkpoint mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", di.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

func TestCheckpointStoreCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.json")
	for _, content := range []string{"{not json", "", "\x00\x00"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		var v map[string]int64
		_, err := NewCheckpointStore(path).Load(&v)
		if !errors.Is(err, ErrCorruptCheckpoint) {
			t.Fatalf("content %q: err %v, want ErrCorruptCheckpoint", content, err)
		}
	}
}

// TestCheckpointStoreRefusesForeignDir (issue 21 kind 1): a checkpoint directory another
// user owns is refused; one the agent owns with a wider mode is set to 0700; a symlink at
// the checkpoint's path is replaced, not written through.
func TestCheckpointStoreRefusesForeignDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	root := t.TempDir()
	theirs := filepath.Join(root, "theirs")
	if err := os.Mkdir(theirs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := NewCheckpointStore(filepath.Join(theirs, "in.json")).Save(map[string]int{"a": 1}); err == nil {
		t.Fatal("saved into another user's directory")
	}

	wide := filepath.Join(root, "wide")
	if err := os.Mkdir(wide, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(wide, "in.json")
	victim := fsfault.PlantSymlink(t, root, path)
	if err := NewCheckpointStore(path).Save(map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(wide); fi.Mode().Perm() != 0o700 {
		t.Fatalf("checkpoint dir left at %v", fi.Mode().Perm())
	}
	victim.Untouched(t)
	if fi, _ := os.Lstat(path); !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("checkpoint is %v", fi.Mode())
	}
}
