package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
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
