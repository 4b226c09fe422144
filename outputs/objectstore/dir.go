package objectstore

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/auditship/auditship/internal/safefile"
)

// dirStore writes objects under a local directory with the same key layout as a bucket.
type dirStore struct {
	dir string
}

// put writes the object atomically: a reader sees either no file or the whole object,
// and after put returns the object survives a crash.
func (d *dirStore) put(_ context.Context, key string, body []byte, _ codec) error {
	// The key's directories are the agent's own: a symlink among them is refused.
	parent, err := safefile.MkdirUnder(d.dir, path.Dir(key))
	if err != nil {
		return err
	}
	objPath := filepath.Join(parent, path.Base(key))
	// A leading dot keeps half-written files out of globs over *.ndjson*.
	f, err := os.CreateTemp(parent, ".tmp-*")
	if err != nil {
		return fmt.Errorf("create temp object in %s: %w", parent, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(body); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	// rename replaces whatever is at the key's path, a symlink included, without
	// following it.
	if err := os.Rename(tmp, objPath); err != nil {
		return fmt.Errorf("rename to %s: %w", objPath, err)
	}
	ok = true
	// The rename is durable only once the directory entry is.
	if err := syncDir(parent); err != nil {
		return err
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// ready checks that the directory exists (creating it) and takes new data: a file with
// one page written and fsynced, since a full disk still creates empty files.
func (d *dirStore) ready(context.Context) error {
	if err := safefile.MkdirAll(d.dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(d.dir, ".ready-*")
	if err != nil {
		return fmt.Errorf("directory %s is not writable: %w", d.dir, err)
	}
	name := f.Name()
	_, err = f.Write(make([]byte, 4096))
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	rerr := os.Remove(name)
	if err != nil {
		return fmt.Errorf("directory %s does not take writes: %w", d.dir, err)
	}
	if rerr != nil {
		return fmt.Errorf("remove %s: %w", name, rerr)
	}
	return nil
}

func (d *dirStore) String() string { return "file://" + d.dir }
