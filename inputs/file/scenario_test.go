package file

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditship/auditship/pipeline"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func TestRenameRotationFinishesTheRenamedFileFirst(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	appendFile(t, live, lines("r", 0, 100))
	c := testConfig(live)
	c.BatchMaxEvents = 7
	in := newInput(t, c, data, false, nil)
	equalIDs(t, readN(t, in, 100), ids("r", 0, 100))

	appendFile(t, live, lines("r", 100, 150)) // written just before the rotation, still unread
	backup := lumberjackName(live, t0)
	if err := os.Rename(live, backup); err != nil {
		t.Fatal(err)
	}
	appendFile(t, live, lines("r", 150, 200))
	equalIDs(t, readN(t, in, 100), ids("r", 100, 200))

	gzipAway(t, backup) // lumberjack compresses the backup later: same content, nothing new
	expectNothing(t, in)
	appendFile(t, live, lines("r", 200, 210))
	equalIDs(t, readN(t, in, 10), ids("r", 200, 210))
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, newInput(t, c, data, true, nil)); len(got) != 0 {
		t.Fatalf("restart shipped %d events again", len(got))
	}
}

// Killed with batches unacknowledged; while down the file is rotated and its backup
// gzipped. The restart resumes inside the .gz at the same uncompressed offset and
// finishes it before the new live file.
func TestRotationWhileDownResumesInsideGzip(t *testing.T) {
	for _, glob := range []string{"audit.log", "audit*.log*"} {
		t.Run(glob, func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			live := filepath.Join(dir, "audit.log")
			appendFile(t, live, lines("d", 0, 100))
			c := testConfig(filepath.Join(dir, glob))
			c.BatchMaxEvents = 10
			in := newInput(t, c, data, false, nil)
			ctx := context.Background()
			for i := 0; i < 4; i++ {
				_, ack, err := in.Read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if i < 3 {
					ack(nil) // the fourth batch is in flight when the agent dies
				}
			}
			if err := in.Close(); err != nil {
				t.Fatal(err)
			}
			appendFile(t, live, lines("d", 100, 120))
			backup := lumberjackName(live, t0)
			if err := os.Rename(live, backup); err != nil {
				t.Fatal(err)
			}
			appendFile(t, live, lines("d", 120, 150))
			gzipAway(t, backup)

			got := readAll(t, newInput(t, c, data, true, nil))
			equalIDs(t, got, ids("d", 30, 150))
		})
	}
}

func TestCopyTruncate(t *testing.T) {
	tests := []struct {
		name          string
		afterTruncate int // lines written to the live file before the agent looks again
	}{
		{"few new lines", 5},
		{"new content longer than the old offset", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			live := filepath.Join(dir, "audit.log")
			appendFile(t, live, lines("c", 0, 100))
			c := testConfig(live)
			in := newInput(t, c, data, false, nil)
			equalIDs(t, readN(t, in, 100), ids("c", 0, 100))

			in.mu.Lock() // hold the agent still so the rotation happens between two looks
			appendFile(t, live, lines("c", 100, 130))
			if err := copyTruncate(live, live+".1"); err != nil {
				t.Fatal(err)
			}
			appendFile(t, live, lines("n", 0, tt.afterTruncate))
			in.mu.Unlock()

			got := readN(t, in, 30+tt.afterTruncate)
			equalIDs(t, got, concat(ids("c", 100, 130), ids("n", 0, tt.afterTruncate)))
			expectNothing(t, in)
			if err := in.Close(); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, newInput(t, c, data, true, nil)); len(got) != 0 {
				t.Fatalf("restart shipped %d events again", len(got))
			}
		})
	}
}

// A glob that matches the live file and every backup, plain and gzipped, through several
// rotations and restarts: every event exactly once.
func TestGlobMatchingBackupsNeverShipsTwice(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	c := testConfig(filepath.Join(dir, "audit*.log*"))
	seen := map[string]int{}
	n := 0
	for round := 0; round < 4; round++ {
		appendFile(t, live, lines("g", n, n+50))
		n += 50
		backup := lumberjackName(live, t0.Add(time.Duration(round)*time.Hour))
		if err := os.Rename(live, backup); err != nil {
			t.Fatal(err)
		}
		appendFile(t, live, lines("g", n, n+10))
		n += 10
		for _, id := range readAll(t, newInput(t, c, data, true, nil)) {
			seen[id]++
		}
		gzipAway(t, backup)
	}
	for _, id := range readAll(t, newInput(t, c, data, true, nil)) {
		seen[id]++
	}
	for _, id := range ids("g", 0, n) {
		if seen[id] != 1 {
			t.Fatalf("%s shipped %d times", id, seen[id])
		}
	}
	if len(seen) != n {
		t.Fatalf("shipped %d distinct events, want %d", len(seen), n)
	}
}

func TestDeletedFileIsDrainedWhileOpen(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	appendFile(t, live, lines("x", 0, 50))
	c := testConfig(live)
	c.BatchMaxEvents = 10
	m := &recMetrics{}
	in := newInput(t, c, data, false, m)
	equalIDs(t, readN(t, in, 10), ids("x", 0, 10)) // the file is open now
	backup := lumberjackName(live, t0)
	if err := os.Rename(live, backup); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(backup); err != nil {
		t.Fatal(err)
	}
	appendFile(t, live, lines("y", 0, 5))
	equalIDs(t, readN(t, in, 45), concat(ids("x", 10, 50), ids("y", 0, 5)))
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if got := m.get(); got.lostBytes != 0 {
		t.Fatalf("nothing was lost, but %d bytes were counted", got.lostBytes)
	}
}

func TestDeletedWhileDownIsCountedLost(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	appendFile(t, live, lines("l", 0, 50))
	c := testConfig(live)
	c.BatchMaxEvents = 10
	in := newInput(t, c, data, false, nil)
	_, ack, err := in.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ack(nil)
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(live); err != nil {
		t.Fatal(err)
	}
	appendFile(t, live, lines("m", 0, 3))
	m := &recMetrics{}
	equalIDs(t, readAll(t, newInput(t, c, data, true, m)), ids("m", 0, 3))
	got := m.get()
	if want := int64(len(lines("l", 10, 50))); got.lostBytes != want {
		t.Fatalf("lost bytes %d, want %d", got.lostBytes, want)
	}
	if got.lostEv < 30 || got.lostEv > 50 {
		t.Fatalf("estimated lost events %d, want about 40", got.lostEv)
	}
	// Counted once: the checkpoint remembers it, so later starts do not count it again.
	for i := 0; i < 2; i++ {
		m := &recMetrics{}
		readAll(t, newInput(t, c, data, true, m))
		if got := m.get().lostBytes; got != 0 {
			t.Fatalf("restart %d counted %d bytes lost again", i+1, got)
		}
	}
}

// The same inode with a different fingerprint (replaced in place, or an inode reused
// after deletion) is a new file, read from its beginning.
func TestSameInodeDifferentContentIsANewFile(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	appendFile(t, live, lines("o", 0, 20))
	c := testConfig(live)
	equalIDs(t, readAll(t, newInput(t, c, data, true, nil)), ids("o", 0, 20))
	if err := os.Truncate(live, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, live, lines("p", 0, 40)) // longer than the old offset
	equalIDs(t, readAll(t, newInput(t, c, data, true, nil)), ids("p", 0, 40))
}

func TestOpenFileCapAndIdleClose(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	for i := 0; i < 5; i++ {
		appendFile(t, filepath.Join(dir, string(rune('a'+i))+".log"), lines(string(rune('a'+i)), 0, 10))
	}
	c := testConfig(filepath.Join(dir, "*.log"))
	c.MaxOpenFiles = 2
	c.CloseInactive = time.Millisecond
	in := newInput(t, c, data, false, nil)
	defer in.Close()
	openFiles := func() int {
		in.mu.Lock()
		defer in.mu.Unlock()
		n := 0
		for _, t := range in.files {
			if t.rd != nil {
				n++
			}
		}
		return n
	}
	got := map[string]bool{}
	for len(got) < 50 {
		for _, id := range readN(t, in, 1) {
			got[id] = true
		}
		if n := openFiles(); n > 2 {
			t.Fatalf("%d files open, cap is 2", n)
		}
	}
	expectNothing(t, in) // polls long enough for idle files to be closed
	if n := openFiles(); n != 0 {
		t.Fatalf("%d idle files still open", n)
	}
	appendFile(t, filepath.Join(dir, "c.log"), lines("c", 10, 12)) // reopened by identity
	equalIDs(t, readN(t, in, 2), ids("c", 10, 12))
}

func TestGoneEntriesArePruned(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	appendFile(t, a, lines("a", 0, 3))
	appendFile(t, b, lines("b", 0, 3))
	c := testConfig(filepath.Join(dir, "*.log"))
	c.PruneAfter = time.Millisecond
	if got := readAll(t, newInput(t, c, data, true, nil)); len(got) != 6 {
		t.Fatalf("read %d events", len(got))
	}
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	readAll(t, newInput(t, c, data, true, nil)) // sees b gone: starts its clock
	time.Sleep(5 * time.Millisecond)
	readAll(t, newInput(t, c, data, true, nil))
	states, _, err := registry{store: pipeline.NewCheckpointStore(filepath.Join(data, "inputs", "test.json"))}.load(false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || states[0].Path != a {
		t.Fatalf("checkpoint entries %+v, want only %s", states, a)
	}
}

func TestUnacknowledgedBatchIsReadAgain(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	appendFile(t, live, lines("u", 0, 50))
	c := testConfig(live)
	c.BatchMaxEvents = 10
	in := newInput(t, c, data, false, nil)
	var acks []pipeline.AckFunc
	for i := 0; i < 4; i++ {
		_, ack, err := in.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		acks = append(acks, ack)
	}
	// Out of order; the second batch fails for good.
	acks[3](nil)
	acks[0](nil)
	acks[1](errors.New("output down"))
	acks[2](nil)
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	equalIDs(t, readAll(t, newInput(t, c, data, true, nil)), ids("u", 10, 50))
}

func TestStartAtEnd(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	appendFile(t, live, lines("s", 0, 10)+`{"partial`)
	c := testConfig(filepath.Join(dir, "*.log"))
	c.StartAt = "end"
	in := newInput(t, c, data, false, nil)
	defer in.Close()
	expectNothing(t, in)
	appendFile(t, live, "\n"+lines("s", 10, 12))
	appendFile(t, filepath.Join(dir, "later.log"), lines("t", 0, 2)) // appeared after start: read whole
	got := readN(t, in, 4)
	equalIDs(t, got, concat(ids("s", 10, 12), ids("t", 0, 2)))
}

func TestReadReturnsWhenCancelled(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	c := testConfig(filepath.Join(dir, "audit.log"))
	c.Watch = true
	in := newInput(t, c, data, false, nil)
	defer in.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := in.Read(ctx)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Read returned %v, want context.Canceled", err)
	}
}

func TestWatchedFileIsFollowed(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	c := testConfig(live)
	c.Watch = true
	c.PollInterval = time.Hour // only file events can wake the reader
	c.RescanInterval = time.Hour
	in := newInput(t, c, data, false, nil)
	defer in.Close()
	expectNothing(t, in)
	appendFile(t, live, lines("w", 0, 3))
	equalIDs(t, readN(t, in, 3), ids("w", 0, 3))
	appendFile(t, live, lines("w", 3, 5))
	equalIDs(t, readN(t, in, 2), ids("w", 3, 5))
}
