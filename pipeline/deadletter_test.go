package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// deadCounter counts dead letters per output, as the metrics do.
type deadCounter struct {
	NopObserver
	mu   sync.Mutex
	dead map[string]int
}

func (c *deadCounter) OutputDeadLettered(output string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead == nil {
		c.dead = map[string]int{}
	}
	c.dead[output] += n
}

func (c *deadCounter) get(output string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead[output]
}

// deadEntry is one line of a dead-letter file, as docs/elasticsearch.md documents it.
type deadEntry struct {
	Time      string          `json:"time"`
	Output    string          `json:"output"`
	Index     string          `json:"_index"`
	ID        string          `json:"_id"`
	Topic     string          `json:"topic"`
	Status    int             `json:"status"`
	ErrorType string          `json:"error_type"`
	Reason    string          `json:"reason"`
	Event     json.RawMessage `json:"event"`
}

func readDeadFile(t *testing.T, path string) []deadEntry {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("dead-letter file mode %v, want 0600", fi.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []deadEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e deadEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("dead letter %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

func auditID(ev *Event) string { return ev.Fields()["auditID"].(string) }

// rejectIDs fails the events whose auditID is in ids for good, per item, with a
// Rejection that carries the destination's answer; wholeBatch rejects the batch itself.
func rejectIDs(ids map[string]bool, wholeBatch bool) func(int, Batch) error {
	return func(_ int, b Batch) error {
		if wholeBatch {
			return Permanent(errors.New("the output cannot encode this batch"))
		}
		failed := map[int]error{}
		for i, ev := range b {
			if ids[auditID(ev)] {
				failed[i] = Reject(Rejection{Index: "idx", ID: auditID(ev), Status: 400, ErrorType: "mapper_parsing_exception",
					Reason: "failed to parse field [x] (quotes content)"})
			}
		}
		if len(failed) == 0 {
			return nil
		}
		return &BatchError{Failed: failed}
	}
}

// TestEngineDeadLettersRejectedItems: for every kind of rejection an output reports
// (per item among delivered ones, per item among ones to retry, the whole batch), with
// and without a dead-letter file, the engine acks the batch only after the rejected
// events are written (or, without a file, counted and dropped), counts them per output,
// delivers the rest once, and never retries a rejected event.
func TestEngineDeadLettersRejectedItems(t *testing.T) {
	tests := []struct {
		name      string
		ids       map[string]bool
		whole     bool
		transient bool // also fail b0-1 once, to be retried
		file      bool
		wantDead  int
	}{
		{"per item, with file", map[string]bool{"b0-0": true, "b1-2": true}, false, false, true, 2},
		{"per item and a retried one, with file", map[string]bool{"b0-0": true}, false, true, true, 1},
		{"whole batch, with file", nil, true, false, true, 6},
		{"per item, no file", map[string]bool{"b0-0": true, "b1-2": true}, false, false, false, 2},
		{"whole batch, no file", nil, true, false, false, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newMemInput(2, 3)
			out := newMemOutput()
			reject := rejectIDs(tt.ids, tt.whole)
			retried := false
			out.fail = func(call int, b Batch) error {
				err := reject(call, b)
				if !tt.transient || retried {
					return err
				}
				retried = true
				failed := map[int]error{}
				var be *BatchError
				if errors.As(err, &be) {
					failed = be.Failed
				}
				for i, ev := range b {
					if auditID(ev) == "b0-1" {
						failed[i] = errors.New("429")
					}
				}
				return &BatchError{Failed: failed}
			}
			opts := fastOpts()
			dir := t.TempDir()
			path := filepath.Join(dir, "dlq", "o.ndjson")
			if tt.file {
				opts.DeadLetterPath = path
			}
			obs := &deadCounter{}
			e := New(Config{Inputs: []InputSpec{{Name: "in", Input: in}},
				Outputs: []OutputSpec{{Name: "o", Output: out, Options: opts}}, Observer: obs})
			if err := e.Run(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			if ok, failed := in.ackState(); ok != 2 || failed != 0 {
				t.Fatalf("acks: %d ok, %d failed; want 2 ok", ok, failed)
			}
			if got := obs.get("o"); got != tt.wantDead {
				t.Errorf("dead letters counted %d, want %d", got, tt.wantDead)
			}
			got := out.delivered()
			for _, b := range in.batches {
				for _, ev := range b {
					id := auditID(ev)
					want := 1
					if tt.whole || tt.ids[id] {
						want = 0
					}
					if got[id] != want {
						t.Errorf("%s delivered %d times, want %d", id, got[id], want)
					}
				}
			}
			if !tt.file {
				if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
					t.Errorf("no dead_letter_path, but %s exists (%v)", filepath.Dir(path), err)
				}
				return
			}
			dead := readDeadFile(t, path)
			if len(dead) != tt.wantDead {
				t.Fatalf("%d dead letters in the file, want %d", len(dead), tt.wantDead)
			}
			for _, d := range dead {
				var ev map[string]any
				if err := json.Unmarshal(d.Event, &ev); err != nil || ev["auditID"] == nil {
					t.Errorf("dead letter lacks the event: %s", d.Event)
				}
				if d.Output != "o" || d.Time == "" || d.Reason == "" {
					t.Errorf("dead letter lacks output, time or reason: %+v", d)
				}
				if !tt.whole && (d.Status != 400 || d.ErrorType != "mapper_parsing_exception" || d.ID != ev["auditID"] || d.Index != "idx") {
					t.Errorf("dead letter does not carry the output's rejection: %+v", d)
				}
				if tt.whole && (d.ErrorType != "rejected" || !strings.Contains(d.Reason, "cannot encode")) {
					t.Errorf("whole-batch dead letter: %+v", d)
				}
			}
		})
	}
}

// TestEngineDeadLetterWriteFailsNothingAcked: when the dead-letter file cannot be written
// (its directory is a regular file here; a full disk or a symlink alike), the batch is
// not acknowledged: the rejected events are retried, and written once the file can be.
// A --once run stopped meanwhile reports the batch undelivered.
func TestEngineDeadLetterWriteFailsNothingAcked(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "dlq")
	if err := os.WriteFile(blocker, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := newMemInput(1, 3)
	out := newMemOutput()
	out.fail = rejectIDs(map[string]bool{"b0-1": true}, false)
	opts := fastOpts()
	opts.DeadLetterPath = filepath.Join(blocker, "o.ndjson")
	obs := &deadCounter{}
	e := New(Config{Inputs: []InputSpec{{Name: "in", Input: in}},
		Outputs: []OutputSpec{{Name: "o", Output: out, Options: opts}}, Observer: obs, DrainTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, true) }()

	// Retried, not acknowledged, while the file cannot be written.
	waitCalls(out, 3)
	if ok, failed := in.ackState(); ok+failed != 0 {
		t.Fatalf("batch acked (%d ok, %d failed) although its dead letter was not written", ok, failed)
	}
	if obs.get("o") != 0 {
		t.Fatalf("counted %d dead letters that were not written", obs.get("o"))
	}

	// The directory can be made: the retry writes the dead letter and the batch is acked.
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cancel()
	if ok, failed := in.ackState(); ok != 1 || failed != 0 {
		t.Fatalf("acks: %d ok, %d failed; want 1 ok", ok, failed)
	}
	dead := readDeadFile(t, filepath.Join(blocker, "o.ndjson"))
	if len(dead) != 1 || dead[0].ID != "b0-1" || obs.get("o") != 1 {
		t.Fatalf("dead letters %+v (counted %d), want b0-1 once", dead, obs.get("o"))
	}
	if got := out.delivered(); got["b0-0"] != 1 || got["b0-2"] != 1 || got["b0-1"] != 0 {
		t.Fatalf("delivered %v, want b0-0 and b0-2 once", got)
	}
}

// TestEngineDeadLetterWriteFailsOnceRunUndelivered: a --once run stopped while the dead
// letter still cannot be written ends with the batch reported undelivered, not acked.
func TestEngineDeadLetterWriteFailsOnceRunUndelivered(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "dlq")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	in := newMemInput(1, 2)
	out := newMemOutput()
	out.fail = rejectIDs(nil, true)
	opts := fastOpts()
	opts.DeadLetterPath = filepath.Join(blocker, "o.ndjson")
	e := New(Config{Inputs: []InputSpec{{Name: "in", Input: in}},
		Outputs: []OutputSpec{{Name: "o", Output: out, Options: opts}}, DrainTimeout: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, true) }()
	waitCalls(out, 2)
	cancel()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "1 batches were not delivered") {
		t.Fatalf("Run = %v, want the batch reported undelivered", err)
	}
	if ok, failed := in.ackState(); ok != 0 || failed != 1 {
		t.Fatalf("acks: %d ok, %d failed; want the batch failed", ok, failed)
	}
}

// waitCalls returns once out was written to n times.
func waitCalls(out *memOutput, n int) {
	for {
		out.mu.Lock()
		calls := out.calls
		out.mu.Unlock()
		if calls >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
