package file

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditship/auditship/pipeline"
)

// Scenarios found by the SIGKILL e2e test: each drives the Input step by step into the
// state the agent was in when it lost or duplicated data.

func loadStates(t *testing.T, data string) []FileState {
	t.Helper()
	states, _, err := registry{store: pipeline.NewCheckpointStore(filepath.Join(data, "inputs", "test.json"))}.load(false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return states
}

// saveStates writes the checkpoint as an earlier build could have left it.
func saveStates(t *testing.T, data string, states []FileState) {
	t.Helper()
	doc, err := json.Marshal(checkpointFile{Version: checkpointVersion, Files: states})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "inputs", "test.json"), doc, 0o600); err != nil {
		t.Fatal(err)
	}
}

// readAllNothingLost reads a once-mode input to its end and fails if it counted anything lost.
func readAllNothingLost(t *testing.T, c *Config, data string) []string {
	t.Helper()
	m := &recMetrics{}
	got := readAll(t, newInput(t, c, data, true, m))
	if lost := m.get().lostBytes; lost != 0 {
		t.Fatalf("nothing was lost, but %d bytes were counted", lost)
	}
	return got
}

// Everything read and acknowledged, so the checkpoint's offset equals the size it saw.
// While the agent is down the file grows, is renamed and gzipped. The .gz is longer than
// the checkpointed size: its tail must be read, not taken as already read to its end.
func TestGrownThenGzippedWhileDownIsFinished(t *testing.T) {
	for _, glob := range []string{"audit.log", "audit*.log*"} {
		t.Run(glob, func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			live := filepath.Join(dir, "audit.log")
			appendFile(t, live, lines("z", 0, 40))
			c := testConfig(filepath.Join(dir, glob))
			equalIDs(t, readAll(t, newInput(t, c, data, true, nil)), ids("z", 0, 40))

			appendFile(t, live, lines("z", 40, 60)) // a burst just before the rotation
			backup := lumberjackName(live, t0)
			if err := os.Rename(live, backup); err != nil {
				t.Fatal(err)
			}
			appendFile(t, live, lines("z", 60, 70))
			gzipAway(t, backup)

			equalIDs(t, readAllNothingLost(t, c, data), ids("z", 40, 70))
			// Read to its end now: a further restart neither re-reads it nor misses it.
			if got := readAll(t, newInput(t, c, data, true, nil)); len(got) != 0 {
				t.Fatalf("restart shipped %d events again", len(got))
			}
		})
	}
}

// A file tracked while empty (a new live file right after a rotation) has no fingerprint
// yet. Once lines were handed out from it, its identity must cover them: before the fix a
// rescan (or a restart after a checkpoint save) took it for different content, read it
// again from 0 and reported the old identity's unread bytes as lost.
func TestFileTrackedEmptyKeepsItsIdentityOnceRead(t *testing.T) {
	for _, restart := range []bool{false, true} {
		name := "rescan"
		if restart {
			name = "restart"
		}
		t.Run(name, func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			live := filepath.Join(dir, "audit.log")
			appendFile(t, live, "")
			c := testConfig(live)
			c.BatchMaxEvents = 10
			m := &recMetrics{}
			in := newInput(t, c, data, false, m)
			expectNothing(t, in) // tracked while empty
			appendFile(t, live, lines("e", 0, 50))
			equalIDs(t, readN(t, in, 10), ids("e", 0, 10)) // one batch, not to the end
			var got []string
			if restart {
				if err := in.Close(); err != nil {
					t.Fatal(err)
				}
				in = newInput(t, c, data, true, m)
				got = readAll(t, in)
			} else {
				in.needScan.Store(true)
				got = readN(t, in, 40)
				expectNothing(t, in)
				if err := in.Close(); err != nil {
					t.Fatal(err)
				}
			}
			equalIDs(t, got, ids("e", 10, 50))
			if got := m.get(); got.lostBytes != 0 {
				t.Fatalf("nothing was lost, but %d bytes were counted", got.lostBytes)
			}
			states := loadStates(t, data)
			if len(states) != 1 || states[0].FingerprintLen != int(c.FingerprintBytes) {
				t.Fatalf("want one entry with a %d-byte fingerprint, got %+v", int(c.FingerprintBytes), states)
			}
		})
	}
}

// copytruncate writes the copy after creating it: a scan can see the copy empty or short.
// It must not become an identity of its own (that re-read the whole copy, and reported
// the real identity, whose content the copy is, as lost), and the live file waits for it.
func TestCopyTruncateCopySeenWhileBeingWritten(t *testing.T) {
	for _, partial := range []int{0, 100} {
		t.Run(fmt.Sprintf("copy of %d bytes", partial), func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			live := filepath.Join(dir, "audit.log")
			appendFile(t, live, lines("c", 0, 100))
			c := testConfig(live)
			m := &recMetrics{}
			in := newInput(t, c, data, false, m)
			defer in.Close()
			in.youngFor = time.Hour // the copy is never complete by its age alone here
			equalIDs(t, readN(t, in, 100), ids("c", 0, 100))

			in.mu.Lock() // the agent looks next with the copy half written
			appendFile(t, live, lines("c", 100, 130))
			content, err := os.ReadFile(live)
			if err != nil {
				t.Fatal(err)
			}
			copyPath := live + "-0000000001"
			appendFile(t, copyPath, string(content[:partial]))
			in.needScan.Store(true)
			in.mu.Unlock()
			expectNothing(t, in) // nor from the live file: the young copy may hold older lines

			appendFile(t, copyPath, string(content[partial:]))
			if err := os.Truncate(live, 0); err != nil {
				t.Fatal(err)
			}
			appendFile(t, live, lines("n", 0, 5))
			in.needScan.Store(true)
			equalIDs(t, readN(t, in, 35), concat(ids("c", 100, 130), ids("n", 0, 5)))
			expectNothing(t, in)
			if got := m.get(); got.lostBytes != 0 {
				t.Fatalf("nothing was lost, but %d bytes were counted", got.lostBytes)
			}
		})
	}
}

// Two checkpoint entries for the same content (left by an older agent): the one not
// bound to a file is not gone, its content is being read under the other, so nothing is
// reported lost and the duplicate entry is dropped.
func TestDuplicateIdentityIsNotReportedLost(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	appendFile(t, live, lines("d", 0, 20))
	c := testConfig(live)
	equalIDs(t, readAll(t, newInput(t, c, data, true, nil)), ids("d", 0, 20))
	states := loadStates(t, data)
	if len(states) != 1 {
		t.Fatalf("want one entry, got %+v", states)
	}
	ghost := states[0]
	ghost.Dev, ghost.Inode, ghost.Path, ghost.Offset = 0, 0, live+"-0000000001", 100
	saveStates(t, data, append(states, ghost))
	appendFile(t, live, lines("d", 20, 25))
	equalIDs(t, readAllNothingLost(t, c, data), ids("d", 20, 25))
	if states := loadStates(t, data); len(states) != 1 {
		t.Fatalf("duplicate entry kept: %+v", states)
	}
}

// A complete backup shorter than fingerprint_bytes (rotated when it held a line or two)
// is still read, once it has stopped changing.
func TestShortBackupIsReadOnceStable(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	backup := lumberjackName(live, t0)
	appendFile(t, backup, lines("s", 0, 2)) // < 1KiB
	appendFile(t, live, lines("s", 2, 4))
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(backup, old, old); err != nil {
		t.Fatal(err)
	}
	equalIDs(t, readAllNothingLost(t, testConfig(live), data), ids("s", 0, 4))
}

// A file tracked while empty has no identity but its inode. Checkpointed like that, the
// inode (freed when the file was rotated and gzipped while the agent was down) was reused
// by copytruncate's copy, which the restart took for that empty file and read from 0: a
// whole file shipped twice, and the copy's real identity counted lost.
func TestEntryWithoutFingerprintDoesNotClaimAReusedInode(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	appendFile(t, live, lines("r", 0, 100))
	c := testConfig(live)
	equalIDs(t, readAll(t, newInput(t, c, data, true, nil)), ids("r", 0, 100))

	appendFile(t, live, lines("r", 100, 110))
	copyPath := live + "-0000000001"
	if err := copyTruncate(live, copyPath); err != nil {
		t.Fatal(err)
	}
	appendFile(t, live, lines("n", 0, 5))
	fi, err := os.Stat(copyPath)
	if err != nil {
		t.Fatal(err)
	}
	// What an earlier build saved for an empty live file whose inode the copy now has.
	states := loadStates(t, data)
	key := keyOf(fi)
	saveStates(t, data, append(states, FileState{Path: live, Dev: key.Dev, Inode: key.Ino, LastSeen: time.Now()}))

	equalIDs(t, readAllNothingLost(t, c, data), concat(ids("r", 100, 110), ids("n", 0, 5)))
	for _, st := range loadStates(t, data) {
		if st.FingerprintLen == 0 {
			t.Fatalf("entry without a fingerprint saved: %+v", st)
		}
	}
}
