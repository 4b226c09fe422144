// Package corpustest finds the shared corpus for tests: real public audit logs, audit
// policies and AdmissionReviews kept beside the repository (../shared/corpus), not in
// it. A test that needs them skips, saying why, when they are not there.
package corpustest

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// maxFile bounds the files Lines reads whole.
const maxFile = 64 << 20

// Dir returns the corpus directory joined with elems, skipping t when it is absent.
func Dir(t testing.TB, elems ...string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	// This file is internal/corpustest/corpustest.go: the repository is two levels up,
	// and the corpus beside it.
	dir := filepath.Join(append([]string{filepath.Dir(file), "..", "..", "..", "shared", "corpus"}, elems...)...)
	if _, err := os.Stat(dir); err != nil {
		t.Skip("corpus not present:", err)
	}
	return dir
}

// Lines calls fn with each line (without its newline or a carriage return before it) of
// every file in the corpus, in walk order, and returns how many lines there were. Empty
// lines are included; files over 64 MiB are left out. A read error fails t.
func Lines(t testing.TB, fn func(path string, line []byte)) int {
	t.Helper()
	n := 0
	err := filepath.Walk(Dir(t), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || info.Size() > maxFile {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for len(data) > 0 {
			line, rest, _ := bytes.Cut(data, []byte("\n"))
			fn(path, bytes.TrimSuffix(line, []byte("\r")))
			n++
			data = rest
		}
		return nil
	})
	if err != nil {
		t.Fatalf("corpus: %v", err)
	}
	return n
}
