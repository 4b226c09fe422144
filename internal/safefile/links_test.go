package safefile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestForeignSymlinkOnThePathRefused: a symbolic link another user owns anywhere on the
// way to what the agent writes (a directory above the file, data_dir itself, a store's
// root, behind a trusted link) is refused by every opener; the agent's own (or root's)
// links are still followed, as an operator's data_dir behind a symlink must be.
func TestForeignSymlinkOnThePathRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making a link another user owns needs root (lchown)")
	}
	const attacker = 65534
	ops := []struct {
		name string
		run  func(link string) error // link: the planted directory symlink
	}{
		{"OpenAppend", func(l string) error { return closeOpen(OpenAppend(l + sep + "out.ndjson")) }},
		{"OpenTruncate", func(l string) error { return closeOpen(OpenTruncate(l + sep + "out.ndjson")) }},
		{"OpenLock", func(l string) error { return closeOpen(OpenLock(l + sep + "out.ndjson")) }},
		{"PrivateDir", func(l string) error { return PrivateDir(l) }},
		{"PrivateDir below", func(l string) error { return PrivateDir(l + sep + "sub") }},
		{"MkdirAll", func(l string) error { return MkdirAll(l + sep + "a" + sep + "b") }},
		{"MkdirUnder", func(l string) error { _, err := MkdirUnder(l, "k/y"); return err }},
		{"Check", func(l string) error { return Check(l + sep + "out.ndjson") }},
	}
	layouts := []struct {
		name string
		// plant makes the path the agent is configured with, through a link owned by
		// attacker that points at victim.
		plant func(t *testing.T, shared, victim string) string
	}{
		{"link in a world-writable directory", func(t *testing.T, shared, victim string) string {
			l := filepath.Join(shared, "out")
			must(t, os.Symlink(victim, l))
			must(t, os.Lchown(l, attacker, attacker))
			return l
		}},
		{"relative link", func(t *testing.T, shared, victim string) string {
			l := filepath.Join(shared, "out")
			rel, err := filepath.Rel(shared, victim)
			must(t, err)
			must(t, os.Symlink(rel, l))
			must(t, os.Lchown(l, attacker, attacker))
			return l
		}},
		{"behind the agent's own link", func(t *testing.T, shared, victim string) string {
			mid := filepath.Join(shared, "mid")
			must(t, os.Mkdir(mid, 0o777))
			l := filepath.Join(mid, "out")
			must(t, os.Symlink(victim, l))
			must(t, os.Lchown(l, attacker, attacker))
			own := filepath.Join(t.TempDir(), "own")
			must(t, os.Symlink(mid, own)) // the operator's link, owned by root
			return filepath.Join(own, "out")
		}},
		{"link to a link", func(t *testing.T, shared, victim string) string {
			l2 := filepath.Join(shared, "l2")
			must(t, os.Symlink(victim, l2))
			must(t, os.Lchown(l2, attacker, attacker))
			l := filepath.Join(shared, "out")
			must(t, os.Symlink(l2, l)) // root's own link to the planted one
			return l
		}},
		{"dot dot through the link", func(t *testing.T, shared, victim string) string {
			l := filepath.Join(shared, "out")
			must(t, os.Symlink(filepath.Join(victim, "inner"), l))
			must(t, os.Mkdir(filepath.Join(victim, "inner"), 0o755))
			must(t, os.Lchown(l, attacker, attacker))
			return l + sep + ".." // not filepath.Join: it would clean the .. away
		}},
	}
	for _, lay := range layouts {
		for _, op := range ops {
			t.Run(lay.name+"/"+op.name, func(t *testing.T) {
				shared := t.TempDir()
				must(t, os.Chmod(shared, 0o777))
				victim := t.TempDir()
				must(t, os.Chmod(victim, 0o755))
				vfile := filepath.Join(victim, "out.ndjson")
				must(t, os.WriteFile(vfile, []byte("precious\n"), 0o644))
				link := lay.plant(t, shared, victim)
				entries := names(t, victim)
				err := op.run(link)
				if err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
					t.Fatalf("error %v, want a refusal naming the link's owner", err)
				}
				if b, _ := os.ReadFile(vfile); string(b) != "precious\n" {
					t.Fatalf("victim file content changed: %q", b)
				}
				if fi, _ := os.Stat(vfile); fi.Mode().Perm() != 0o644 {
					t.Fatalf("victim file mode changed to %v", fi.Mode().Perm())
				}
				if fi, _ := os.Stat(victim); fi.Mode().Perm() != 0o755 {
					t.Fatalf("victim directory mode changed to %v", fi.Mode().Perm())
				}
				if got := names(t, victim); got != entries {
					t.Fatalf("victim directory now holds %s, had %s", got, entries)
				}
			})
		}
	}

	t.Run("own links are followed", func(t *testing.T) {
		real := t.TempDir()
		l := filepath.Join(t.TempDir(), "data")
		must(t, os.Symlink(real, l))
		must(t, PrivateDir(l))
		must(t, closeOpen(OpenAppend(filepath.Join(l, "x"))))
		must(t, Check(filepath.Join(l, "y")))
		if _, err := os.Stat(filepath.Join(real, "x")); err != nil {
			t.Fatal(err)
		}
	})
}

const sep = string(filepath.Separator)

func closeOpen(f *os.File, err error) error {
	if f != nil {
		f.Close()
	}
	return err
}

func names(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	var s []string
	for _, e := range entries {
		s = append(s, e.Name())
	}
	return strings.Join(s, ",")
}
