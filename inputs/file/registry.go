package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/pipeline"
)

// checkpointVersion is bumped when FileState changes meaning; an unknown version is
// refused rather than guessed at.
const checkpointVersion = 1

// FileState is what the checkpoint remembers about one file, keyed by its identity
// (fingerprint), not by its path: the path is only where it was last seen.
type FileState struct {
	Path           string `json:"path"`
	Dev            uint64 `json:"dev,omitempty"`
	Inode          uint64 `json:"inode,omitempty"`
	Fingerprint    string `json:"fingerprint,omitempty"`
	FingerprintLen int    `json:"fingerprint_len"`
	// FingerprintLead is the length of the NUL run the fingerprint starts after.
	FingerprintLead int64 `json:"fingerprint_lead,omitempty"`
	Gzip            bool  `json:"gzip,omitempty"`
	// Offset is the acknowledged watermark: every line before it was delivered, dropped
	// or skipped as invalid. In a .gz it counts uncompressed bytes.
	Offset int64 `json:"offset"`
	// Size is the content size last seen, to count what is lost if the file vanishes.
	Size int64 `json:"size"`
	// AvgLineBytes estimates how many events lost bytes held.
	AvgLineBytes int64     `json:"avg_line_bytes,omitempty"`
	LastSeen     time.Time `json:"last_seen"`
	// Ended is set once a .gz was read to its end, so Size is its exact uncompressed size
	// and a restart need not decompress it again. Without it, Size may be the size of the
	// plain file the .gz was made from, which can have grown before it was compressed.
	Ended bool `json:"ended,omitempty"`
	// Lost is set once the unread part of a vanished file was counted lost, so a restart
	// does not count it again.
	Lost bool `json:"lost,omitempty"`
	// Anchors tell whether the content before Offset is still what was read (a plain
	// file written to; see anchor).
	Anchors []anchor `json:"anchors,omitempty"`
	// Unreadable marks a .gz that could not be decompressed at all and was counted lost
	// (it has no fingerprint; LastSeen holds its mtime), so a restart does not count it
	// again while it stays as it is.
	Unreadable bool `json:"unreadable,omitempty"`
}

type checkpointFile struct {
	Version int         `json:"version"`
	Files   []FileState `json:"files"`
}

// registry loads and saves the input's FileStates; it does no file reading of its own.
type registry struct {
	store *pipeline.CheckpointStore
}

// load returns the saved states, and whether a checkpoint existed. A checkpoint that
// cannot be decoded is an error unless reset is set, because starting afresh silently
// would re-ship everything (or, with start_at: end, skip it).
func (r registry) load(reset bool, log hclog.Logger) ([]FileState, bool, error) {
	var doc checkpointFile
	found, err := r.store.Load(&doc)
	if err == nil && found && doc.Version != checkpointVersion {
		err = fmt.Errorf("%w %s: version %d, this agent reads version %d",
			pipeline.ErrCorruptCheckpoint, r.store.Path(), doc.Version, checkpointVersion)
	}
	if err != nil {
		if errors.Is(err, pipeline.ErrCorruptCheckpoint) && reset {
			log.Warn("checkpoint is corrupt; starting afresh as reset_corrupt_checkpoints is set", "path", r.store.Path(), "error", err)
			return nil, false, nil
		}
		if errors.Is(err, pipeline.ErrCorruptCheckpoint) {
			return nil, false, fmt.Errorf("%w (set reset_corrupt_checkpoints: true to start afresh, re-reading every file)", err)
		}
		return nil, false, err
	}
	return doc.Files, found, nil
}

// others returns the names of the other inputs with a checkpoint beside this one.
func (r registry) others() ([]string, error) {
	dir, own := filepath.Split(r.store.Path())
	names, err := listCheckpoints(dir)
	return slices.DeleteFunc(names, func(n string) bool { return n+".json" == own }), err
}

// CheckpointNames returns the names of the inputs that have a checkpoint in dataDir, so
// the agent can say which of them its configuration no longer reads.
func CheckpointNames(dataDir string) ([]string, error) {
	return listCheckpoints(filepath.Join(dataDir, "inputs"))
}

func listCheckpoints(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasSuffix(n, ".json") {
			names = append(names, strings.TrimSuffix(n, ".json"))
		}
	}
	return names, nil
}

func (r registry) save(files []FileState) error {
	if files == nil {
		files = []FileState{}
	}
	return r.store.Save(checkpointFile{Version: checkpointVersion, Files: files})
}
