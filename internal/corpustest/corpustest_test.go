package corpustest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLines: every line of every corpus file comes through once, without line endings.
func TestLines(t *testing.T) {
	dir := Dir(t)
	want := 0
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		want += strings.Count(string(data), "\n")
		if len(data) > 0 && data[len(data)-1] != '\n' {
			want++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := Lines(t, func(path string, line []byte) {
		if strings.ContainsAny(string(line), "\n") || strings.HasSuffix(string(line), "\r") {
			t.Fatalf("%s: line keeps its ending: %q", path, line)
		}
	})
	if got != want || got == 0 {
		t.Fatalf("Lines saw %d lines, the files have %d", got, want)
	}
}
