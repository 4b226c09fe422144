package pipeline

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestCheckpointLoadRefusesPlantedFiles: a data_dir found world-writable (an operator's
// mkdir, an older version) may hold a checkpoint someone else put there. Trusting it would
// let them mark a backlog as shipped (silent loss), hang the start (a FIFO) or exhaust
// memory (a device). Load refuses each, and still loads the agent's own.
func TestCheckpointLoadRefusesPlantedFiles(t *testing.T) {
	const claim = `{"offset": 999999999}`
	cases := []struct {
		name  string
		root  bool // needs root (chown, mknod)
		plant func(t *testing.T, path string)
	}{
		{"another user's file", true, func(t *testing.T, path string) {
			mustDo(t, os.WriteFile(path, []byte(claim), 0o644))
			mustDo(t, os.Chown(path, 65534, 65534))
		}},
		{"symlink to a file", false, func(t *testing.T, path string) {
			other := filepath.Join(t.TempDir(), "other.json")
			mustDo(t, os.WriteFile(other, []byte(claim), 0o600))
			mustDo(t, os.Symlink(other, path))
		}},
		{"second hard link", false, func(t *testing.T, path string) {
			other := filepath.Join(filepath.Dir(path), "other.json")
			mustDo(t, os.WriteFile(other, []byte(claim), 0o600))
			mustDo(t, os.Link(other, path))
		}},
		{"fifo", false, func(t *testing.T, path string) {
			mustDo(t, syscall.Mkfifo(path, 0o666))
		}},
		{"character device", true, func(t *testing.T, path string) {
			mustDo(t, syscall.Mknod(path, syscall.S_IFCHR|0o666, 1<<8|5)) // /dev/zero
		}},
		{"symlink to /dev/zero", false, func(t *testing.T, path string) {
			mustDo(t, os.Symlink("/dev/zero", path))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.root && os.Geteuid() != 0 {
				t.Skip("needs root")
			}
			path := filepath.Join(t.TempDir(), "in.json")
			c.plant(t, path)
			done := make(chan error, 1)
			var v map[string]int64
			go func() { _, err := NewCheckpointStore(path).Load(&v); done <- err }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatalf("loaded a planted checkpoint: %v", v)
				}
			case <-time.After(20 * time.Second): // a hang detector, not a timing assert
				t.Fatal("Load did not return (blocked on the planted file)")
			}
		})
	}
	t.Run("own checkpoint", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "in.json")
		s := NewCheckpointStore(path)
		mustDo(t, s.Save(map[string]int64{"offset": 7}))
		var v map[string]int64
		if ok, err := s.Load(&v); !ok || err != nil || v["offset"] != 7 {
			t.Fatalf("Load = %v, %v, %v", ok, err, v)
		}
	})
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
