package safefile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExposedDir: a world-writable directory without the sticky bit anywhere above a
// written file is reported; sticky (/tmp-like), private and group-writable ones are not.
func TestExposedDir(t *testing.T) {
	cases := []struct {
		name      string
		top, leaf os.FileMode // modes of the two directories above the file
		want      string      // "" for no warning, else the directory reported
	}{
		{"parent 0777", 0o755, 0o777, "a/b"},
		{"grandparent 0777", 0o777, 0o755, "a"},
		{"parent 0777 sticky", 0o755, 0o777 | os.ModeSticky, ""},
		{"parent 0775", 0o755, 0o775, ""},
		{"private", 0o700, 0o700, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			must(t, os.Chmod(root, 0o755))
			a := filepath.Join(root, "a")
			b := filepath.Join(a, "b")
			must(t, os.MkdirAll(b, 0o700))
			must(t, os.Chmod(a, c.top))
			must(t, os.Chmod(b, c.leaf))
			got := ExposedDir(filepath.Join(b, "out.ndjson"))
			if c.want == "" {
				if got != "" {
					t.Fatalf("warned: %s", got)
				}
				return
			}
			if !strings.Contains(got, "directory "+filepath.Join(root, c.want)+" is writable by every user") {
				t.Fatalf("warning %q does not name %s", got, c.want)
			}
		})
	}
	// A file not yet created under directories not yet created: the nearest existing one counts.
	root := t.TempDir()
	must(t, os.Chmod(root, 0o777))
	if got := ExposedDir(filepath.Join(root, "x", "y", "out.ndjson")); !strings.Contains(got, root) {
		t.Fatalf("missing directories: %q", got)
	}
}
