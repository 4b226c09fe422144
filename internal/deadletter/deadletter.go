// Package deadletter is the dead-letter file every output that can refuse events for good
// writes them to: NDJSON, one line per event with why it was refused, 0600 in a 0700
// directory, fsynced before the write returns, so an output acknowledges a batch only
// once its dead letters are on disk.
package deadletter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/auditship/auditship/internal/safefile"
)

// Entry is one line of a dead-letter file: the event and why the destination (or the
// output's encoder) refused it, enough to fix the cause and re-ship it. Target fields
// that do not apply to an output stay empty and are omitted.
type Entry struct {
	// Time is when the event was dead-lettered (RFC 3339, UTC); filled in when empty.
	Time   string `json:"time"`
	Output string `json:"output"`
	// Index is the Elasticsearch or Splunk index the event was meant for.
	Index string `json:"_index,omitempty"`
	// ID is the event's id at the destination (Elasticsearch _id, Kafka record key).
	ID string `json:"_id,omitempty"`
	// Topic is the Kafka topic the record was meant for.
	Topic string `json:"topic,omitempty"`
	// Status is the destination's status for the event: an HTTP status, or a Kafka
	// error code.
	Status    int    `json:"status,omitempty"`
	ErrorType string `json:"error_type,omitempty"`
	Reason    string `json:"reason"`
	// Event is the event as it was sent; bytes that are not JSON are kept as a string.
	Event json.RawMessage `json:"event"`
}

// File appends entries to the NDJSON file at Path. It is safe for concurrent use.
type File struct {
	Path string
	mu   sync.Mutex
	app  safefile.Appender // keeps a torn tail's size from one write to the next
}

// New returns the dead-letter file at path; nothing is created before the first Write.
func New(path string) *File { return &File{Path: path} }

// Write appends entries, whole lines or none, and syncs the file. It returns an error
// (naming the path) when the directory or file cannot be created safely (a symlink,
// another user's file: internal/safefile) or the write fails; the caller must then treat
// the events as not handled.
func (d *File) Write(entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	var buf bytes.Buffer
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range entries {
		e := entries[i]
		if e.Time == "" {
			e.Time = now
		}
		if e.Event == nil {
			e.Event = json.RawMessage("null")
		}
		line, err := json.Marshal(&e)
		if err != nil {
			// The event bytes were not valid JSON: keep them, as a string.
			e.Event, _ = json.Marshal(string(e.Event))
			if line, err = json.Marshal(&e); err != nil {
				return fmt.Errorf("encode dead letter: %w", err)
			}
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if err := safefile.MkdirAll(filepath.Dir(d.Path)); err != nil {
		return fmt.Errorf("dead-letter directory: %w", err)
	}
	// Opened for each write, so a file deleted or rotated away is recreated; refused when
	// the path is a symlink or another user's file (internal/safefile).
	f, err := safefile.OpenAppend(d.Path)
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
		return fmt.Errorf("write dead-letter file %s: %w", d.Path, err)
	}
	return nil
}
