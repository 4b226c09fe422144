package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/auditship/auditship/internal/safefile"
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
	app  safefile.Appender // keeps a torn tail's size from one write to the next
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
	if err := safefile.MkdirAll(filepath.Dir(d.path)); err != nil {
		return fmt.Errorf("dead-letter directory: %w", err)
	}
	// Opened for each write, so a file deleted or rotated away is recreated; refused when
	// the path is a symlink or another user's file (internal/safefile).
	f, err := safefile.OpenAppend(d.path)
	if err != nil {
		return fmt.Errorf("open dead-letter file: %w", err)
	}
	// Whole lines or none: a full disk must not leave half a dead letter that a re-run of
	// the batch would follow with the whole one.
	d.app.F, d.app.Sync = f, true
	err = d.app.Append(buf.Bytes())
	d.app.F = nil
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write dead-letter file %s: %w", d.path, err)
	}
	return nil
}
