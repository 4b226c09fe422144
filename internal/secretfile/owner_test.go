package secretfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCredentialChosenByAnotherUserWarned: a credential file another user owns, or one
// reached through a link another user owns (planted in a world-writable directory), is
// read but warned about: that user chooses the credential (the redaction hash key, a
// token). Root's and the agent's own files, reached through root's links, are not.
func TestCredentialChosenByAnotherUserWarned(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	const other = 65534
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the configured path
		want  string
	}{
		{"own file", func(t *testing.T, dir string) string {
			return writeKey(t, dir, "k", -1)
		}, ""},
		{"another user's file", func(t *testing.T, dir string) string {
			return writeKey(t, dir, "k", other)
		}, "is owned by uid 65534"},
		{"through another user's link", func(t *testing.T, dir string) string {
			key := writeKey(t, dir, "k", -1)
			l := filepath.Join(dir, "link")
			if err := os.Symlink(key, l); err != nil {
				t.Fatal(err)
			}
			if err := os.Lchown(l, other, other); err != nil {
				t.Fatal(err)
			}
			return l
		}, "symbolic link owned by uid 65534"},
		{"through root's link (a Secret volume)", func(t *testing.T, dir string) string {
			key := writeKey(t, dir, "k", -1)
			l := filepath.Join(dir, "link")
			if err := os.Symlink(key, l); err != nil {
				t.Fatal(err)
			}
			return l
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.setup(t, t.TempDir())
			data, warn, err := ReadCredential(path)
			if err != nil || string(data) != "s3cret" {
				t.Fatalf("ReadCredential = %q, %v", data, err)
			}
			if c.want == "" && warn != "" || c.want != "" && !strings.Contains(warn, c.want) {
				t.Fatalf("warning %q, want %q", warn, c.want)
			}
			if strings.Contains(warn, "s3cret") {
				t.Fatal("warning quotes the credential")
			}
		})
	}
}

func writeKey(t *testing.T, dir, name string, uid int) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if uid >= 0 {
		if err := os.Chown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	return p
}
