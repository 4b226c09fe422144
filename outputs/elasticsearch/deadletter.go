package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// deadLetter is one line of the dead-letter file: the event and why Elasticsearch (or the
// encoder) refused it, enough to fix the cause and re-ship it.
type deadLetter struct {
	pos int // the event's index in its batch

	Time      string          `json:"time"`
	Output    string          `json:"output"`
	Index     string          `json:"_index,omitempty"`
	ID        string          `json:"_id,omitempty"`
	Status    int             `json:"status,omitempty"`
	ErrorType string          `json:"error_type,omitempty"`
	Reason    string          `json:"reason"`
	Event     json.RawMessage `json:"event"`
}

// deadLetterFile appends rejected events to an NDJSON file (0600, directories 0700). A
// batch is acknowledged only after its dead letters are synced, so a crash cannot lose
// them.
type deadLetterFile struct {
	path string
	mu   sync.Mutex
}

func (d *deadLetterFile) write(entries []deadLetter) error {
	if len(entries) == 0 {
		return nil
	}
	var buf bytes.Buffer
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range entries {
		if entries[i].Time == "" {
			entries[i].Time = now
		}
		if entries[i].Event == nil {
			entries[i].Event = json.RawMessage("null")
		}
		line, err := json.Marshal(&entries[i])
		if err != nil {
			// The event bytes were not valid JSON: keep them, as a string.
			entries[i].Event, _ = json.Marshal(string(entries[i].Event))
			if line, err = json.Marshal(&entries[i]); err != nil {
				return fmt.Errorf("encode dead letter: %w", err)
			}
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(d.path), 0o700); err != nil {
		return fmt.Errorf("dead-letter directory: %w", err)
	}
	f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open dead-letter file: %w", err)
	}
	// A file created by hand or by an older version may be wider than 0600.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("chmod dead-letter file %s: %w", d.path, err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("write dead-letter file %s: %w", d.path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync dead-letter file %s: %w", d.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close dead-letter file %s: %w", d.path, err)
	}
	return nil
}
