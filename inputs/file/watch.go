package file

import (
	"os"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"
)

// watcher turns file events into signals: a created, removed or renamed file asks for a
// scan, a write for a poll. It decides nothing itself; the Read loop acts on the signals,
// and polling (poll_interval) and rescans (rescan_interval) catch what events miss. The
// zero watcher watches nothing.
type watcher struct {
	fs      *fsnotify.Watcher
	watched map[string]bool
}

// startWatcher starts a goroutine (joined by wg, stopped by stop) raising sig on file
// events. Without file events (inotify exhausted) it logs so and returns the zero
// watcher: polling alone then sees every change, later.
func startWatcher(log hclog.Logger, sig *signals, stop <-chan struct{}, wg *sync.WaitGroup, poll time.Duration) watcher {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		log.Warn("file events unavailable; polling only", "poll_interval", poll, "error", err)
		return watcher{}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		watchLoop(w, log, sig, stop)
	}()
	return watcher{fs: w, watched: map[string]bool{}}
}

func watchLoop(w *fsnotify.Watcher, log hclog.Logger, sig *signals, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
				sig.needScan.Store(true)
			} else {
				sig.needPoll.Store(true)
			}
			sig.signal()
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			log.Debug("file events", "error", err)
			sig.needScan.Store(true) // events may have been dropped
			sig.signal()
		}
	}
}

// add watches the directories not watched yet: those of the files and of the literal
// patterns (see dirsOf).
func (w watcher) add(dirs []string, log hclog.Logger) {
	if w.fs == nil {
		return
	}
	for _, d := range dirs {
		if w.watched[d] {
			continue
		}
		w.watched[d] = true
		if err := w.fs.Add(d); err != nil {
			log.Debug("cannot watch directory; polling it", "dir", d, "error", err)
		}
	}
}

func (w watcher) close() {
	if w.fs != nil {
		w.fs.Close()
	}
}

// signal wakes the Read loop if it waits.
func (s *signals) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// poll checks known files for growth, truncation and rotation without expanding globs:
// it marks the files that grew as having more to read and asks for a scan for what it
// cannot settle by stat (a file renamed, deleted or cut). It closes the idle handles
// before that scan.
func (in *Input) poll(now time.Time) {
	in.lastPoll = now
	for _, t := range in.files {
		if t.rd != nil {
			if fi, err := t.rd.f.Stat(); err == nil {
				in.sizeChanged(t, fi.Size())
			}
			if t.seen {
				if fi, err := os.Stat(t.path); err != nil || keyOf(fi) != t.key {
					in.needScan.Store(true) // renamed or deleted: find where it went
				}
			}
			continue
		}
		if !t.seen {
			continue
		}
		fi, err := os.Stat(t.path)
		if err != nil || keyOf(fi) != t.key {
			in.needScan.Store(true)
			continue
		}
		in.sizeChanged(t, fi.Size())
	}
	in.closeIdle(now)
	if in.needScan.Load() {
		in.needScan.Store(false)
		in.scan(now)
	}
}

func (in *Input) sizeChanged(t *tracked, size int64) {
	if !t.gz && (size < t.readOff || (t.eofSize >= 0 && size < t.eofSize)) {
		in.needScan.Store(true) // truncated: the scan finds where its content went
		return
	}
	if size != t.eofSize {
		t.more = true
	}
	if !t.gz && size > t.size {
		t.size = size
	}
}
