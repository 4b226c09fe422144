package file

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/config"
)

// Faults from issues 13, 20 and 21 that an operator's node meets: each test drives the
// input over a real file system into the state the fault leaves.

// offsetWriter writes as a logger that opened its file without O_APPEND does: at its own
// offset, which a copytruncate does not reset, so the next write after the truncation
// leaves a hole (read as NUL bytes) as long as the file was.
type offsetWriter struct {
	f   *os.File
	off int64
}

func newOffsetWriter(t *testing.T, path string) *offsetWriter {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &offsetWriter{f: f}
}

func (w *offsetWriter) write(t *testing.T, s string) {
	t.Helper()
	n, err := w.f.WriteAt([]byte(s), w.off)
	if err != nil {
		t.Fatal(err)
	}
	w.off += int64(n)
}

// Issue 13 kind 4: after a copytruncate, a writer that kept its offset leaves a NUL run
// before its next event. The event ships; the NULs are counted, not taken for a line.
func TestNULRunAfterCopyTruncateShipsTheEvent(t *testing.T) {
	tests := []struct {
		name   string
		before int // lines written before the rotation (sets the NUL run's length)
		follow bool
	}{
		{"short NUL run", 3, false},
		{"NUL run longer than fingerprint_bytes", 100, false},
		{"NUL run longer than max_line_bytes", 6000, false},
		{"following", 100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			live := filepath.Join(dir, "audit.log")
			w := newOffsetWriter(t, live)
			w.write(t, lines("a", 0, tt.before))
			c := testConfig(live)
			c.MaxLineBytes = 1 << 20 // 6000 lines are about 2 MiB of NULs
			m := &recMetrics{}
			in := newInput(t, c, data, !tt.follow, m)
			var got []string
			if tt.follow {
				got = readN(t, in, tt.before)
			} else {
				got = readAll(t, in)
			}
			equalIDs(t, got, ids("a", 0, tt.before))

			if err := copyTruncate(live, live+".1"); err != nil {
				t.Fatal(err)
			}
			hole := w.off
			w.write(t, lines("b", 0, 3))
			if tt.follow {
				got = readN(t, in, 3)
			} else {
				got = readAll(t, newInput(t, c, data, true, m))
			}
			equalIDs(t, got, ids("b", 0, 3))

			// A second rotation: the new live file starts with a longer NUL run, and must
			// not be taken for the first (identity skips the NULs).
			if err := copyTruncate(live, live+".2"); err != nil {
				t.Fatal(err)
			}
			if tt.follow {
				expectNothing(t, in) // the agent sees the live file empty, then the write
			}
			hole += w.off
			w.write(t, lines("c", 0, 2))
			if tt.follow {
				got = readN(t, in, 2)
				if err := in.Close(); err != nil {
					t.Fatal(err)
				}
			} else {
				got = readAll(t, newInput(t, c, data, true, m))
			}
			equalIDs(t, got, ids("c", 0, 2))
			st := m.get()
			if st.nuls != hole || st.invalid != 0 || st.skipped != 0 || st.lostBytes != 0 {
				t.Fatalf("NUL bytes skipped %d (want %d), invalid %d, skipped lines %d, lost %d: want only the NULs counted",
					st.nuls, hole, st.invalid, st.skipped, st.lostBytes)
			}
		})
	}
}

// A NUL run inside a line ends it: the part before it (cut by a crash) is invalid and
// counted, the event after it ships. A file of only NULs yields nothing and no error.
func TestNULsInsideLinesAndNULOnlyFiles(t *testing.T) {
	partial := strings.TrimSuffix(auditLine("p-0"), "\n")[:60]
	tests := []struct {
		name    string
		content string
		want    []string
		invalid int
		nuls    int64
	}{
		{"crash zeros after a partial line", lines("p", 1, 3) + partial + strings.Repeat("\x00", 4096) + lines("q", 0, 2), concat(ids("p", 1, 3), ids("q", 0, 2)), 1, 4096},
		{"only NULs", strings.Repeat("\x00", 10000), nil, 0, 10000},
		{"NULs between lines", lines("p", 0, 1) + "\x00\x00" + lines("p", 1, 2), ids("p", 0, 2), 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			live := filepath.Join(dir, "audit.log")
			appendFile(t, live, tt.content)
			m := &recMetrics{}
			equalIDs(t, readAll(t, newInput(t, testConfig(live), data, true, m)), tt.want)
			if st := m.get(); st.invalid != tt.invalid || st.nuls != tt.nuls {
				t.Fatalf("invalid %d (want %d), NUL bytes %d (want %d)", st.invalid, tt.invalid, st.nuls, tt.nuls)
			}
		})
	}
}

// A file that starts with a NUL run is identified by what follows the run: by its first
// KiB (all NULs) every such file looked the same, so after a second copytruncate while the
// agent was down the copy holding the unread lines was taken for a duplicate of the live
// file and skipped, and the live file read from an offset inside its NUL run.
func TestNULLedFilesKeepTheirIdentity(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	w := newOffsetWriter(t, live)
	w.write(t, lines("a", 0, 100))
	if err := copyTruncate(live, live+".1"); err != nil {
		t.Fatal(err)
	}
	w.write(t, lines("b", 0, 10)) // after a NUL run of 100 lines' length
	c := testConfig(live)
	c.BatchMaxEvents = 4
	m := &recMetrics{}
	in := newInput(t, c, data, false, m)
	equalIDs(t, readN(t, in, 104), concat(ids("a", 0, 100), ids("b", 0, 4)))
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if err := copyTruncate(live, live+".2"); err != nil {
		t.Fatal(err)
	}
	w.write(t, lines("c", 0, 3))
	equalIDs(t, readAll(t, newInput(t, c, data, true, m)), concat(ids("b", 4, 10), ids("c", 0, 3)))
	if st := m.get(); st.lostBytes != 0 || st.invalid != 0 {
		t.Fatalf("lost %d bytes, %d invalid lines: want none", st.lostBytes, st.invalid)
	}
}

// Issue 20 kind 8: what was counted as lost is out of the checkpoint lag, so /healthz
// does not call a quiet agent wedged until prune_after forgets the entry.
func TestLostBytesAreNotLag(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	c := stopAfterOneBatch(t, live, "l", data)
	if err := os.Remove(live); err != nil {
		t.Fatal(err)
	}
	appendFile(t, live, lines("m", 0, 3))
	for restart := 0; restart < 2; restart++ { // the lost entry stays in the checkpoint
		m := &recMetrics{}
		in := newInput(t, c, data, false, m)
		if restart == 0 {
			equalIDs(t, readN(t, in, 3), ids("m", 0, 3))
		}
		expectNothing(t, in)
		if err := in.persist(false); err != nil {
			t.Fatal(err)
		}
		if st := m.get(); st.lag != 0 {
			t.Fatalf("start %d: lag %d bytes after everything readable was delivered (lost %d)", restart, st.lag, st.lostBytes)
		}
		if err := in.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if states := loadStates(t, data); len(states) != 2 {
		t.Fatalf("want the live file and the lost one checkpointed, got %+v", states)
	}
}

// Issue 13 kind 5: while the agent was down a second rotator renamed a backup to a name
// that does not look like a backup of the configured live file. The file is found by its
// identity among every file of the watched directory and finished; only what is truly
// gone is counted lost.
func TestBackupRenamedWhileDownIsFoundByIdentity(t *testing.T) {
	tests := []struct {
		name string
		move func(t *testing.T, backup string) // the second rotator, from the lumberjack name
		lost bool
	}{
		{"logrotate numbers the lumberjack backup", func(t *testing.T, b string) { rename(t, b, b+".1") }, false},
		{"and compresses it", func(t *testing.T, b string) { rename(t, b, b+".1"); gzipAway(t, b+".1") }, false},
		{"moved to another name", func(t *testing.T, b string) { rename(t, b, filepath.Join(filepath.Dir(b), "kept-for-forensics")) }, false},
		{"moved and compressed", func(t *testing.T, b string) {
			p := filepath.Join(filepath.Dir(b), "old.json")
			rename(t, b, p)
			gzipAway(t, p)
		}, false},
		{"deleted", func(t *testing.T, b string) { rename(t, b, filepath.Join(t.TempDir(), "elsewhere")) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			live := filepath.Join(dir, "audit.log")
			c := stopAfterOneBatch(t, live, "r", data)
			appendFile(t, live, lines("r", 50, 60)) // unseen: written while the agent was down
			backup := lumberjackName(live, t0)
			rename(t, live, backup)
			appendFile(t, live, lines("n", 0, 5))
			tt.move(t, backup)

			m := &recMetrics{}
			got := readAll(t, newInput(t, c, data, true, m))
			st := m.get()
			if st.lag != 0 {
				t.Fatalf("lag %d bytes once everything readable was delivered", st.lag)
			}
			if tt.lost {
				equalIDs(t, got, ids("n", 0, 5))
				if want := int64(len(lines("r", 10, 50))); st.lostBytes != want || st.lostEv == 0 {
					t.Fatalf("lost %d bytes, %d events; want %d bytes counted", st.lostBytes, st.lostEv, want)
				}
				return
			}
			equalIDs(t, got, concat(ids("r", 10, 60), ids("n", 0, 5)))
			if st.lostBytes != 0 {
				t.Fatalf("nothing was lost, but %d bytes were counted", st.lostBytes)
			}
			if got := readAll(t, newInput(t, c, data, true, nil)); len(got) != 0 {
				t.Fatalf("restart shipped %d events again", len(got))
			}
		})
	}
}

// Issue 13 kind 5, the variant where the agent had read the live file to its end when it
// stopped: lines written to it while the agent was down, then rotated and deleted (or
// moved out of the watched directory) before the agent came back, are gone with no
// count of them. The agent cannot know how many, but it must say that a file it was
// following as the live file vanished unfinished-for-all-it-knows. A backup (or .gz) read
// to its end and then deleted by retention is complete: not reported.
func TestLiveFileVanishedWhileDownIsReported(t *testing.T) {
	tests := []struct {
		name     string
		away     func(t *testing.T, live, backup string) // while the agent is down
		vanished int
		want     []string
	}{
		{"rotated and deleted", func(t *testing.T, live, b string) {
			appendFile(t, live, lines("r", 10, 15))
			rename(t, live, b)
			if err := os.Remove(b); err != nil {
				t.Fatal(err)
			}
		}, 1, ids("n", 0, 5)},
		{"rotated and moved out of the directory", func(t *testing.T, live, b string) {
			appendFile(t, live, lines("r", 10, 15))
			rename(t, live, b)
			rename(t, b, filepath.Join(t.TempDir(), "elsewhere"))
		}, 1, ids("n", 0, 5)},
		{"rotated, backup kept", func(t *testing.T, live, b string) {
			appendFile(t, live, lines("r", 10, 15))
			rename(t, live, b)
		}, 0, concat(ids("r", 10, 15), ids("n", 0, 5))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			live := filepath.Join(dir, "audit.log")
			appendFile(t, live, lines("r", 0, 10))
			c := testConfig(live)
			equalIDs(t, readAll(t, newInput(t, c, data, true, nil)), ids("r", 0, 10))
			tt.away(t, live, lumberjackName(live, t0))
			appendFile(t, live, lines("n", 0, 5))
			for restart := 0; restart < 2; restart++ { // reported once, not at every start
				m := &recMetrics{}
				got := readAll(t, newInput(t, c, data, true, m))
				want := tt.want
				if restart > 0 {
					want = nil
				}
				equalIDs(t, got, want)
				wantVanished := tt.vanished
				if restart > 0 {
					wantVanished = 0
				}
				if st := m.get(); st.vanished != wantVanished || st.lag != 0 {
					t.Fatalf("start %d: %d files reported vanished, want %d (lag %d)", restart, st.vanished, wantVanished, st.lag)
				}
			}
		})
	}
}

// A backup read to its end is complete: retention deleting it is no loss.
func TestBackupDeletedAfterReadIsNotReported(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	backup := lumberjackName(live, t0)
	appendFile(t, backup, lines("b", 0, 5))
	appendFile(t, live, lines("r", 0, 5))
	c := testConfig(live)
	equalIDs(t, readAll(t, newInput(t, c, data, true, nil)), concat(ids("b", 0, 5), ids("r", 0, 5)))
	if err := os.Remove(backup); err != nil {
		t.Fatal(err)
	}
	m := &recMetrics{}
	equalIDs(t, readAll(t, newInput(t, c, data, true, m)), nil)
	if st := m.get(); st.vanished != 0 || st.lostBytes != 0 {
		t.Fatalf("a backup read to its end and deleted: %d files reported vanished, %d bytes lost", st.vanished, st.lostBytes)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// stopAfterOneBatch writes 50 lines to live, has an agent deliver the first 10 of them
// and stop, and returns its config.
func stopAfterOneBatch(t *testing.T, live, prefix, data string) *Config {
	t.Helper()
	appendFile(t, live, lines(prefix, 0, 50))
	c := testConfig(live)
	c.BatchMaxEvents = 10
	in := newInput(t, c, data, false, nil)
	equalIDs(t, readN(t, in, 10), ids(prefix, 0, 10))
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	return c
}

// cutFile keeps the first frac of path's bytes (or -frac bytes when negative), dated a
// minute ago: a file that stopped changing when a crash cut it.
func cutFile(t *testing.T, path string, frac float64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	keep := int64(float64(fi.Size()) * frac)
	if frac < 0 {
		keep = int64(-frac)
	}
	if err := os.Truncate(path, keep); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

// Issue 20 kind 10: a .gz cut by a crash during compression, or not gzip at all. What
// decompresses ships; the rest is counted lost and warned about once it stopped changing;
// the read position is kept, and the file is not decompressed again and again.
func TestBrokenGzipIsCountedOnce(t *testing.T) {
	tests := []struct {
		name     string
		glob     string
		damage   func(t *testing.T, gz string)
		partial  bool // some of the backup's lines are expected
		wantLost bool
	}{
		{"cut during compression", "audit.log", func(t *testing.T, gz string) { cutFile(t, gz, 0.5) }, true, true},
		{"cut inside the gzip header", "audit.log", func(t *testing.T, gz string) { cutFile(t, gz, -5) }, false, true},
		{"trailing garbage", "audit.log", func(t *testing.T, gz string) {
			appendFile(t, gz, "not gzip")
			cutFile(t, gz, 1)
		}, true, false},
		{"cut during compression, plain file still there", "audit.log", func(t *testing.T, gz string) {
			if err := os.WriteFile(strings.TrimSuffix(gz, ".gz"), []byte(lines("g", 0, 200)), 0o600); err != nil {
				t.Fatal(err)
			}
			cutFile(t, gz, 0.5)
		}, true, false},
		{"only NULs", "audit.log", func(t *testing.T, gz string) {
			p := strings.TrimSuffix(gz, ".gz")
			if err := os.WriteFile(p, make([]byte, maxGzipNULLead+1), 0o600); err != nil {
				t.Fatal(err)
			}
			gzipAway(t, p)
			cutFile(t, gz, 1)
		}, false, true},
		{"not gzip at all", "audit*.log*", func(t *testing.T, gz string) {
			if err := os.WriteFile(gz, []byte(lines("x", 0, 40)), 0o600); err != nil {
				t.Fatal(err)
			}
			cutFile(t, gz, 1)
		}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			live := filepath.Join(dir, "audit.log")
			backup := lumberjackName(live, t0)
			appendFile(t, backup, lines("g", 0, 200))
			gzipAway(t, backup)
			tt.damage(t, backup+".gz")
			appendFile(t, live, lines("n", 0, 5))
			c := testConfig(filepath.Join(dir, tt.glob))
			m := &recMetrics{}
			in := newInput(t, c, data, false, m)
			got := readUntil(t, in, "n-000004")
			expectNothing(t, in)
			in.mu.Lock()
			opens := in.opens
			in.mu.Unlock()
			expectNothing(t, in) // many polls and a few scans
			in.mu.Lock()
			again := in.opens - opens
			in.mu.Unlock()
			if err := in.Close(); err != nil {
				t.Fatal(err)
			}
			if again != 0 {
				t.Fatalf("the broken .gz was opened %d more times after it was counted", again)
			}
			var backupIDs []string
			for _, id := range got {
				if strings.HasPrefix(id, "g-") {
					backupIDs = append(backupIDs, id)
				}
			}
			equalIDs(t, got[len(backupIDs):], ids("n", 0, 5))
			equalIDs(t, backupIDs, ids("g", 0, len(backupIDs)))
			if tt.partial != (len(backupIDs) > 0) {
				t.Fatalf("%d lines of the backup shipped", len(backupIDs))
			}
			st := m.get()
			if tt.wantLost != (st.lostBytes > 0 && st.lostEv > 0) {
				t.Fatalf("lost %d bytes, %d events", st.lostBytes, st.lostEv)
			}
			if st.lag != 0 {
				t.Fatalf("lag %d bytes once everything readable was delivered", st.lag)
			}
			// Counted once: a restart neither ships nor counts it again.
			m2 := &recMetrics{}
			if got := readAll(t, newInput(t, c, data, true, m2)); len(got) != 0 {
				t.Fatalf("restart shipped %d events", len(got))
			}
			if st := m2.get(); st.lostBytes != 0 {
				t.Fatalf("restart counted %d bytes lost again", st.lostBytes)
			}
		})
	}
}

// readUntil reads a following input until it returned the event last, acking each batch.
func readUntil(t *testing.T, in *Input, last string) []string {
	t.Helper()
	var got []string
	for !slices.Contains(got, last) {
		got = append(got, readN(t, in, 1)...)
	}
	return got
}

// Issue 21 kind 8: a .gz that expands past max_gzip_ratio (a decompression bomb) is read
// no further and its rest counted lost; a file whose lines yield nothing is read a
// bounded amount per step, so the live file behind it is not starved; and a million bad
// lines make a few log lines, not a million, whatever the level.
func TestHostileBackupsAreBounded(t *testing.T) {
	t.Run("decompression bomb", func(t *testing.T) {
		const size = 40 << 20
		live, backup, data := blankBackup(t, size)
		gzipAway(t, backup)
		m := &recMetrics{}
		equalIDs(t, readAll(t, newInput(t, testConfig(live), data, true, m)), ids("n", 0, 3))
		if st := m.get(); st.bytesR > size/2 || st.lostBytes == 0 || st.lag != 0 {
			t.Fatalf("read %d of %d bytes, %d counted lost, lag %d: want it stopped, counted, and no lag", st.bytesR, size, st.lostBytes, st.lag)
		}
	})
	t.Run("no starvation", func(t *testing.T) {
		const size = 4 << 20
		live, backup, data := blankBackup(t, size)
		c := testConfig(live)
		c.BatchMaxBytes = 16 << 10
		in := newInput(t, c, data, false, nil)
		defer in.Close()
		equalIDs(t, readN(t, in, 3), ids("n", 0, 3))
		in.mu.Lock()
		defer in.mu.Unlock()
		for _, f := range in.files {
			if f.path == backup && f.readOff >= size {
				t.Fatal("the live file waited until all of the backup's blank lines were read")
			}
		}
	})
	t.Run("aggregated warnings", func(t *testing.T) {
		dir, data := t.TempDir(), t.TempDir()
		live := filepath.Join(dir, "audit.log")
		appendFile(t, live, strings.Repeat("x\n", 50000)+strings.Repeat(strings.Repeat("y", 2000)+"\n", 1000)+lines("n", 0, 1))
		var logs bytes.Buffer
		c := testConfig(live)
		c.MaxLineBytes = 1024
		in, err := New(c, config.Settings{Name: "test", DataDir: data, Once: true, Metrics: config.NopMetrics{},
			Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Trace})})
		if err != nil {
			t.Fatal(err)
		}
		equalIDs(t, readAll(t, in), ids("n", 0, 1))
		for _, msg := range []string{"skipped an invalid line", "skipped a line longer"} {
			if n := strings.Count(logs.String(), msg); n < 1 || n > 3 {
				t.Fatalf("%q logged %d times", msg, n)
			}
		}
	})
}

// blankBackup makes a live file of 3 events behind a backup of size blank lines.
func blankBackup(t *testing.T, size int) (live, backup, data string) {
	t.Helper()
	dir := t.TempDir()
	live = filepath.Join(dir, "audit.log")
	backup = lumberjackName(live, t0)
	appendFile(t, backup, strings.Repeat("\n", size))
	appendFile(t, live, lines("n", 0, 3))
	return live, backup, t.TempDir()
}

// Issue 20 kind 1: a power loss cuts the unsynced tail of the live file and the writer
// appends after the cut, so the file keeps its first KiB. The agent finds where its
// content is still what was read and reads on from there: every new line ships (a few
// old ones before the cut may ship again), what was seen but never read is counted lost.
func TestCutAndWrittenAgainBehindTheOffset(t *testing.T) {
	const written = 1000
	tests := []struct {
		name     string
		running  bool
		read     int // lines delivered before the cut
		cut      int // lines kept by the cut
		midLine  bool
		zeroed   bool // the cut part reads as zeros (size kept), as after a crash on ext4
		appended int  // lines written after the cut before the agent looks
		later    int  // lines written after the agent looked
		lost     bool // lines seen but never read were cut away
	}{
		{"down: file longer than the offset again", false, written, 100, false, false, 1000, 0, false},
		{"down: file still shorter", false, written, 100, false, false, 300, 0, false},
		{"down: nothing appended yet", false, written, 100, false, false, 0, 50, false},
		{"down: unread lines cut away", false, 500, 100, false, false, 200, 0, true},
		{"down: cut mid-line", false, written, 100, true, false, 100, 0, false},
		{"down: tail zeroed", false, written, 100, false, true, 100, 0, false},
		{"running: tail zeroed", true, written, 900, false, true, 100, 0, false},
		{"running: file longer than the offset again", true, written, 100, false, false, 1000, 0, false},
		{"running: file still shorter", true, written, 100, false, false, 500, 0, false},
		{"running: seen cut, then written", true, written, 100, false, false, 0, 500, false},
		{"running: cut near the end", true, written, 990, false, false, 20, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			live := filepath.Join(dir, "audit.log")
			appendFile(t, live, lines("a", 0, written))
			c := testConfig(live)
			c.BatchMaxEvents = 100
			m := &recMetrics{}
			in := newInput(t, c, data, false, m)
			equalIDs(t, readN(t, in, tt.read), ids("a", 0, tt.read))
			if !tt.running {
				if err := in.Close(); err != nil {
					t.Fatal(err)
				}
			} else {
				in.mu.Lock() // hold the agent still: it looks again after the writer
			}
			keep := int64(len(lines("a", 0, tt.cut)))
			if tt.midLine {
				keep += 100
			}
			if tt.zeroed {
				fi, err := os.Stat(live)
				if err != nil {
					t.Fatal(err)
				}
				f, err := os.OpenFile(live, os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.WriteAt(make([]byte, fi.Size()-keep), keep); err != nil || f.Close() != nil {
					t.Fatal(err)
				}
			} else if err := os.Truncate(live, keep); err != nil {
				t.Fatal(err)
			}
			appendFile(t, live, lines("b", 0, tt.appended))
			var got []string
			collect := func(n int) {
				if tt.running {
					got = append(got, readUntil(t, in, fmt.Sprintf("b-%06d", n-1))...)
				} else {
					got = append(got, readAll(t, newInput(t, c, data, true, m))...)
				}
			}
			if tt.running {
				in.mu.Unlock()
				if tt.appended == 0 {
					// Sees the cut: may read some lines before it again, nothing else.
					got = append(got, readUpTo(t, in, fmt.Sprintf("a-%06d", tt.cut-1))...)
				}
			}
			if tt.appended > 0 {
				collect(tt.appended)
			}
			if tt.later > 0 {
				if !tt.running && tt.appended == 0 {
					got = append(got, readAll(t, newInput(t, c, data, true, m))...)
				}
				appendFile(t, live, lines("b", tt.appended, tt.appended+tt.later))
				collect(tt.appended + tt.later)
			}
			if tt.running {
				expectNothing(t, in)
				if err := in.Close(); err != nil {
					t.Fatal(err)
				}
			}
			// What ships: maybe some old lines before the cut again, then every new one.
			old := 0
			for old < len(got) && strings.HasPrefix(got[old], "a-") {
				old++
			}
			want := ids("b", 0, tt.appended+tt.later)
			if tt.midLine {
				want = want[1:] // glued to the cut line: invalid, counted
			}
			equalIDs(t, got[old:], want)
			if old > 0 {
				equalIDs(t, got[:old], ids("a", tt.cut-old, tt.cut))
			}
			t.Logf("%d lines before the cut shipped again", old)
			st := m.get()
			if tt.midLine != (st.invalid == 1) {
				t.Fatalf("%d invalid lines", st.invalid)
			}
			if tt.lost != (st.lostBytes > 0) {
				t.Fatalf("lost bytes %d", st.lostBytes)
			}
			if st.lag != 0 {
				t.Fatalf("lag %d bytes once everything readable was delivered", st.lag)
			}
			if tt.lost && st.lostBytes != int64(len(lines("a", tt.read, written))) {
				t.Fatalf("lost bytes %d, want the %d lines seen but not read", st.lostBytes, written-tt.read)
			}
			// A restart ships nothing again.
			if got := readAll(t, newInput(t, c, data, true, nil)); len(got) != 0 {
				t.Fatalf("restart shipped %d events again", len(got))
			}
		})
	}
}

// readUpTo reads a following input until it has nothing more, or returned last.
func readUpTo(t *testing.T, in *Input, last string) []string {
	t.Helper()
	var got []string
	for !slices.Contains(got, last) {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		b, ack, err := in.Read(ctx)
		cancel()
		if err != nil {
			return got
		}
		for _, ev := range b {
			got = append(got, auditID(ev))
		}
		ack(nil)
	}
	return got
}

// Issue 13 kind 5, running: the live file, read and closed as idle, gets lines it is not
// seen with, is rotated, and a second rotator renames the backup before the agent looks.
func TestBackupRenamedWhileClosedIsFoundByIdentity(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	appendFile(t, live, lines("r", 0, 50))
	c := testConfig(live)
	c.CloseInactive = time.Millisecond
	m := &recMetrics{}
	in := newInput(t, c, data, false, m)
	defer in.Close()
	equalIDs(t, readN(t, in, 50), ids("r", 0, 50))
	expectNothing(t, in) // idle: closed
	in.mu.Lock()
	appendFile(t, live, lines("r", 50, 60))
	backup := lumberjackName(live, t0)
	rename(t, live, backup)
	appendFile(t, live, lines("n", 0, 5))
	rename(t, backup, filepath.Join(dir, "audit.log.old-1"))
	in.needScan.Store(true)
	in.mu.Unlock()
	equalIDs(t, readN(t, in, 15), concat(ids("r", 50, 60), ids("n", 0, 5)))
	expectNothing(t, in)
	if st := m.get(); st.lostBytes != 0 {
		t.Fatalf("nothing was lost, but %d bytes were counted", st.lostBytes)
	}
}
