package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateWarnsOfWorldWritableOutputDirs (issue 21 kind 1): a file output or dead-letter
// file in a directory every user may write without the sticky bit can be deleted or
// replaced by anyone on the node; validate says so (exit 0, like the transport warnings).
// A private directory gives no warning.
func TestValidateWarnsOfWorldWritableOutputDirs(t *testing.T) {
	cases := []struct {
		name, body string
		mode       os.FileMode
		want       string
	}{
		{"file output", strings.Replace(validBase, "%DIR%/out.ndjson", "%DIR%/shared/out.ndjson", 1), 0o777, "outputs.debug: path: "},
		{"dead letter", esOutput("    addresses: [\"https://es.example:9200\"]\n    dead_letter_path: %DIR%/shared/dlq.ndjson\n"), 0o777, "outputs.siem: dead_letter_path: "},
		{"private directory", strings.Replace(validBase, "%DIR%/out.ndjson", "%DIR%/shared/out.ndjson", 1), 0o700, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			shared := filepath.Join(dir, "shared")
			if err := os.Mkdir(shared, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(shared, c.mode); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := run(t, "", "validate", "-c", writeConfig(t, dir, c.body))
			if code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			if c.want == "" {
				if stderr != "" {
					t.Fatalf("unexpected warnings:\n%s", stderr)
				}
				return
			}
			if !strings.Contains(stderr, "warning: ") || !strings.Contains(stderr, c.want) ||
				!strings.Contains(stderr, "directory "+shared+" is writable by every user") {
				t.Fatalf("no warning naming %s under %q:\n%s", shared, c.want, stderr)
			}
		})
	}
}
