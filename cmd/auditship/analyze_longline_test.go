package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditship/auditship/inputs/file"
)

// An event with a signal on a line longer than the file input's default max_line_bytes
// (a person listing Secrets at RequestResponse, a big ConfigMap write) is kept by the
// emitted config when the agent runs it, not only when `auditship test` projects it:
// analyze counted it as a kept signal, so the config must let the input read it.
func TestEmittedConfigShipsLongLines(t *testing.T) {
	for _, size := range []int{file.DefaultMaxLineBytes + 1, file.DefaultMaxLineBytes + 3<<20 + 17} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			dir := t.TempDir()
			small := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"small","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/a/secrets/s","verb":"get","user":{"username":"alice"},"objectRef":{"resource":"secrets","namespace":"a","name":"s","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}`
			head := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"big","stage":"ResponseComplete","requestURI":"/api/v1/configmaps","verb":"create","user":{"username":"alice"},"objectRef":{"resource":"configmaps","namespace":"a","name":"big","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"big","namespace":"a"},"data":{"k":"`
			tail := `"}}}`
			big := head + strings.Repeat("x", size-len(head)-len(tail)-1) + tail // size bytes with its newline
			in := filepath.Join(dir, "audit.log")
			if err := os.WriteFile(in, []byte(small+"\n"+big+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := filepath.Join(dir, "emitted.yaml")
			code, out, errs := run(t, "", "analyze", "--emit-config", cfg, "--data-dir", filepath.Join(dir, "state"),
				"--output", filepath.Join(dir, "out.ndjson"), in)
			if code != 0 {
				t.Fatalf("analyze: exit %d %s", code, errs)
			}
			if !strings.Contains(out, "max_line_bytes") || !strings.Contains(out, "person-write=1") {
				t.Errorf("the table does not warn of the long line or count its signal:\n%s", out)
			}
			b, err := os.ReadFile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cfg, append(b, "\nhttp: {listen: \"\"}\n"...), 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, errs = run(t, "", "run", "-c", cfg, "--once")
			if code != 0 {
				t.Fatalf("run --once: exit %d %s", code, errs)
			}
			shipped, err := os.ReadFile(filepath.Join(dir, "out.ndjson"))
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{`"auditID":"small"`, `"auditID":"big"`} {
				if !strings.Contains(string(shipped), id) {
					t.Errorf("the emitted config did not ship %s (run: %s)", id, errs)
				}
			}
		})
	}
}
