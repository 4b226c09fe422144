package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/auditship/auditship/internal/safefile"
)

// ErrCorruptCheckpoint is returned by CheckpointStore.Load when the file exists but cannot
// be decoded. The agent refuses to start on it unless told to start afresh, because a
// silent fresh start re-ships (or, with start_at: end, skips) everything.
var ErrCorruptCheckpoint = errors.New("corrupt checkpoint")

// MaxCheckpointBytes bounds a checkpoint file read at start: one holds a few hundred bytes
// per tracked file, so this leaves room for hundreds of thousands of files while a
// planted /dev/zero or giant file cannot exhaust memory.
const MaxCheckpointBytes = 64 << 20

// CheckpointStore persists one JSON document atomically: written to a temporary file,
// fsynced, renamed over the old one, and the directory fsynced, so a crash leaves either
// the old or the new checkpoint, never a torn one. Files are 0600, directories 0700.
type CheckpointStore struct {
	path string
}

// NewCheckpointStore returns a store for path; the directory is created on first Save.
func NewCheckpointStore(path string) *CheckpointStore {
	return &CheckpointStore{path: path}
}

// Path returns the checkpoint file's path.
func (s *CheckpointStore) Path() string { return s.path }

// Load decodes the checkpoint into v. It returns (false, nil) when there is none yet. A
// checkpoint that is not the agent's own (a symlink, a FIFO or device, another user's
// file, a second hard link, over MaxCheckpointBytes) is an error: trusting a planted one
// could skip a backlog silently.
func (s *CheckpointStore) Load(v any) (bool, error) {
	data, err := safefile.ReadOwn(s.path, MaxCheckpointBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read checkpoint %s: %w", s.path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("%w %s: %v", ErrCorruptCheckpoint, s.path, err)
	}
	return true, nil
}

// Save writes v atomically.
func (s *CheckpointStore) Save(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	dir := filepath.Dir(s.path)
	// The agent's own directory: created 0700, refused when another user owns it.
	if err := safefile.PrivateDir(dir); err != nil {
		return fmt.Errorf("checkpoint dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(s.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create checkpoint temp file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod %s: %w", tmpName, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmpName, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("fsync %s: %w", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmpName, err)
	}
	if err := os.Rename(tmpName, s.path); err != nil {
		return fmt.Errorf("rename checkpoint into place: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: makes the rename itself durable
		d.Close()
	}
	return nil
}
