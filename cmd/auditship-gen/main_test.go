package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "audit.log")
	var stderr bytes.Buffer
	if err := run([]string{"-events", "50", "-seed", "3", "-o", out}, nil, &stderr); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")); n != 50 {
		t.Fatalf("%d lines, want 50", n)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	var stdout bytes.Buffer
	if err := run([]string{"-bytes", "64KiB", "-format", "kube-audit-rest"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if stdout.Len() < 64<<10 || !strings.Contains(stdout.String(), `"kind":"AdmissionReview"`) {
		t.Fatalf("stdout: %d bytes", stdout.Len())
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "exactly one of"},
		{[]string{"-events", "1", "-bytes", "1MiB"}, "exactly one of"},
		{[]string{"-events", "1", "-format", "json"}, "-format"},
		{[]string{"-bytes", "lots"}, "-bytes"},
		{[]string{"-events", "1", "-o", "/nonexistent/dir/x"}, "open output"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		err := run(tt.args, &bytes.Buffer{}, &stderr)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %q", tt.args, err, tt.want)
		}
	}
}
