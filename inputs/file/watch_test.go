package file

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// The watcher only raises signals: a write asks for a poll, a create, rename or remove
// for a scan, and each wakes the reader. Closing it joins its goroutine.
func TestWatcherRaisesSignals(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "audit.log")
	appendFile(t, p, lines("w", 0, 1))
	sig := &signals{wake: make(chan struct{}, 1), saveNow: make(chan struct{}, 1)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	w := startWatcher(hclog.NewNullLogger(), sig, stop, &wg, time.Second)
	if w.fs == nil {
		t.Fatal("no file events on this system")
	}
	w.add([]string{dir}, hclog.NewNullLogger())
	w.add([]string{dir}, hclog.NewNullLogger()) // watched once
	// wakeFor waits for the wake the change must raise, then for the flag; the flags
	// are set before the wake, and events of one change may come in more than one wake.
	wakeFor := func(what string, flag func() bool) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for !flag() {
			select {
			case <-sig.wake:
			case <-deadline:
				t.Fatalf("%s raised no signal", what)
			}
		}
	}
	appendFile(t, p, lines("w", 1, 2))
	wakeFor("a write", sig.needPoll.Load)
	if sig.needScan.Load() {
		t.Fatal("a write asked for a scan")
	}
	sig.needPoll.Store(false)
	if err := os.Rename(p, filepath.Join(t.TempDir(), "moved.log")); err != nil { // away: no create here
		t.Fatal(err)
	}
	wakeFor("a rename", sig.needScan.Load)
	sig.needScan.Store(false)
	appendFile(t, p, lines("w", 2, 3))
	wakeFor("a create", sig.needScan.Load)
	sig.needScan.Store(false)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	wakeFor("a remove", sig.needScan.Load)
	close(stop)
	w.close()
	wg.Wait()
	if len(w.watched) != 1 {
		t.Fatalf("watched %v, want the directory once", w.watched)
	}
}
