package file

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOnceReadsEverythingThenNothingNew(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	appendFile(t, live, lines("a", 0, 2500))
	got := readAll(t, newInput(t, testConfig(live), data, true, nil))
	equalIDs(t, got, ids("a", 0, 2500))
	if got := readAll(t, newInput(t, testConfig(live), data, true, nil)); len(got) != 0 {
		t.Fatalf("second once run shipped %d events", len(got))
	}
	appendFile(t, live, lines("a", 2500, 2510))
	equalIDs(t, readAll(t, newInput(t, testConfig(live), data, true, nil)), ids("a", 2500, 2510))
	fi, err := os.Stat(filepath.Join(data, "inputs", "test.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("checkpoint mode %v, want 0600", fi.Mode().Perm())
	}
}
