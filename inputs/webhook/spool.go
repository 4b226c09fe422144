package webhook

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/safefile"
)

// Segment limits: a segment is written no more once it holds segmentBytes or is
// segmentAge old, so that it can be deleted once delivered.
const (
	segmentBytes = 16 << 20
	segmentAge   = 10 * time.Second
	segmentExt   = ".ndjson"
	headerBits   = 64
)

// errSpoolFull is returned by append while the segments hold max_spool_bytes.
var errSpoolFull = errors.New("spool full")

// segment is one spool file. created dates its oldest event for the unacked age.
type segment struct {
	path    string
	size    int64
	created time.Time
	f       *os.File // while written to
	app     safefile.Appender
}

// spool is the directory of segments requests are appended to. It writes one segment at
// a time; the others wait to be read and deleted.
type spool struct {
	dir string
	max int64
	log hclog.Logger
	now func() time.Time

	mu     sync.Mutex
	cur    *segment
	closed []*segment // written no more, oldest first
	bytes  int64      // of every segment on disk
	seq    uint64

	// Group commit: requests that arrive while an append runs wait in queue, and the
	// next append writes and fsyncs all of them at once.
	qmu     sync.Mutex
	queue   []*waiter
	writing bool // an append runs; the queue's head is handed the next one
}

// waiter is one request's lines waiting for the append that holds them.
type waiter struct {
	lines [][]byte
	done  chan error    // the result of that append
	lead  chan struct{} // closed when this waiter is to run the next append
}

// openSpool creates dir (0700) or recovers the segments a previous run left there. A
// segment whose end is not a newline was cut by a crash in the middle of an append: that
// request was never answered 200, so kube-apiserver sends it again, and the partial line
// is cut off so that the reader does not wait for its end forever. Complete lines of an
// unanswered request stay and are delivered (at least once: kube-apiserver's retry may
// bring them again).
func openSpool(dir string, max int64, log hclog.Logger) (*spool, error) {
	if err := safefile.PrivateDir(dir); err != nil {
		return nil, fmt.Errorf("spool_dir: %w", err)
	}
	s := &spool{dir: dir, max: max, log: log, now: time.Now}
	paths, err := filepath.Glob(filepath.Join(dir, "*"+segmentExt))
	if err != nil {
		return nil, fmt.Errorf("spool_dir: %w", err)
	}
	slices.Sort(paths) // names start with the creation time
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("spool segment %s is not a regular file", p)
		}
		size, err := cutTornTail(p, fi.Size())
		if err != nil {
			return nil, err
		}
		if size < fi.Size() {
			log.Warn("spool segment ended in a partial line (the agent stopped during an append that was not answered); cut off",
				"path", p, "bytes", fi.Size()-size)
		}
		if size == 0 {
			if err := os.Remove(p); err != nil {
				return nil, fmt.Errorf("remove empty spool segment: %w", err)
			}
			continue
		}
		s.closed = append(s.closed, &segment{path: p, size: size, created: fi.ModTime()})
		s.bytes += size
	}
	return s, nil
}

// cutTornTail truncates the file at path after its last newline and returns its new size.
func cutTornTail(path string, size int64) (int64, error) {
	if size == 0 {
		return 0, nil
	}
	f, err := safefile.OpenAppend(path)
	if err != nil {
		return 0, fmt.Errorf("spool segment: %w", err)
	}
	defer f.Close()
	rf, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("spool segment: %w", err)
	}
	defer rf.Close()
	buf := make([]byte, 64<<10)
	end := size
	for end > 0 {
		n := int64(len(buf))
		if n > end {
			n = end
		}
		if _, err := rf.ReadAt(buf[:n], end-n); err != nil && err != io.EOF {
			return 0, fmt.Errorf("read spool segment %s: %w", path, err)
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = end - n + int64(i) + 1
			break
		}
		end -= n
	}
	if end == size {
		return size, nil
	}
	if err := f.Truncate(end); err != nil {
		return 0, fmt.Errorf("cut spool segment %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("sync spool segment %s: %w", path, err)
	}
	return end, nil
}

// full reports whether the segments hold max_spool_bytes.
func (s *spool) full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes >= s.max
}

// append writes lines, each followed by a newline, to the current segment and fsyncs
// it. It returns nil only when every line is on disk; otherwise the segment holds none of
// them (safefile.Appender cuts a failed append back).
//
// Concurrent calls are committed in groups: while one append runs, the others queue, and
// the first of them then writes the lines of every queued request in one append and one
// fsync, whose result each of those requests gets. Each request still returns only once
// its own lines are on disk, and a failed group fails every request in it (none of its
// lines stays), so kube-apiserver sends them all again. Without it, concurrent requests
// queued one fsync after another.
func (s *spool) append(lines [][]byte) error {
	w := &waiter{lines: lines, done: make(chan error, 1), lead: make(chan struct{})}
	s.qmu.Lock()
	s.queue = append(s.queue, w)
	leader := !s.writing
	s.writing = true
	s.qmu.Unlock()
	if !leader {
		select {
		case err := <-w.done:
			return err
		case <-w.lead:
		}
	}
	s.qmu.Lock()
	group := s.queue
	s.queue = nil
	s.qmu.Unlock()
	all := lines
	if len(group) > 1 {
		all = nil
		for _, g := range group {
			all = append(all, g.lines...)
		}
	}
	err := s.write(all)
	for _, g := range group {
		g.done <- err
	}
	s.qmu.Lock()
	if len(s.queue) > 0 {
		close(s.queue[0].lead)
	} else {
		s.writing = false
	}
	s.qmu.Unlock()
	return <-w.done
}

// write appends lines and fsyncs; see append.
func (s *spool) write(lines [][]byte) error {
	n := 0
	for _, l := range lines {
		n += len(l) + 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bytes >= s.max {
		return errSpoolFull
	}
	now := s.now()
	if s.cur != nil && (s.cur.size >= segmentBytes || now.Sub(s.cur.created) >= segmentAge) {
		s.rollLocked()
	}
	buf := make([]byte, 0, n+headerBits+1)
	fresh := s.cur == nil
	if fresh {
		seg, err := s.createLocked(now)
		if err != nil {
			return err
		}
		s.cur = seg
		buf = append(buf, header()...)
	}
	for _, l := range lines {
		buf = append(buf, l...)
		buf = append(buf, '\n')
	}
	if err := s.cur.app.Append(buf); err != nil {
		if fresh {
			s.cur.f.Close()
			os.Remove(s.cur.path)
			s.cur = nil
		}
		return fmt.Errorf("spool append: %w", err)
	}
	s.cur.size += int64(len(buf))
	s.bytes += int64(len(buf))
	return nil
}

// header is a segment's first line: blank to the reader (spaces and tabs), its pattern
// spelling 64 random bits. The file input identifies a file by its first bytes; without
// the header two segments that begin with the same request (kube-apiserver sending again
// a batch whose 200 was lost to a crash) would be taken for copies of one file.
func header() []byte {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		binary.BigEndian.PutUint64(b[:], uint64(time.Now().UnixNano()))
	}
	v := binary.BigEndian.Uint64(b[:])
	h := make([]byte, headerBits+1)
	for i := range headerBits {
		h[i] = " \t"[v>>i&1]
	}
	h[headerBits] = '\n'
	return h
}

func (s *spool) createLocked(now time.Time) (*segment, error) {
	s.seq++
	p := filepath.Join(s.dir, fmt.Sprintf("%020d-%06d%s", now.UnixNano(), s.seq%1e6, segmentExt))
	f, err := safefile.OpenAppend(p)
	if err != nil {
		return nil, fmt.Errorf("spool segment: %w", err)
	}
	// The new name must be on disk too, or a crash could lose a segment whose requests
	// were answered.
	if err := syncDir(s.dir); err != nil {
		f.Close()
		os.Remove(p)
		return nil, err
	}
	return &segment{path: p, created: now, f: f, app: safefile.Appender{F: f, Sync: true}}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync spool_dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync spool_dir: %w", err)
	}
	return nil
}

// rollLocked makes the current segment one written no more.
func (s *spool) rollLocked() {
	if s.cur == nil {
		return
	}
	s.cur.f.Close()
	s.cur.f = nil
	s.closed = append(s.closed, s.cur)
	s.cur = nil
}

// spoolStats is what the metrics report.
type spoolStats struct {
	bytes    int64
	segments int
	oldest   time.Duration // age of the oldest segment not yet delivered whole; 0 when none
	full     bool
}

// reap rolls a current segment past its age, deletes every segment written no more
// whose end saved reports delivered, and returns the spool's state. saved is the file
// input's Saved.
func (s *spool) reap(saved func(path string) (int64, bool)) spoolStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.cur != nil && now.Sub(s.cur.created) >= segmentAge {
		s.rollLocked()
	}
	kept := s.closed[:0]
	for _, seg := range s.closed {
		if off, ok := saved(seg.path); ok && off >= seg.size {
			if err := os.Remove(seg.path); err == nil || errors.Is(err, os.ErrNotExist) {
				s.bytes -= seg.size
				continue
			} else {
				s.log.Warn("cannot delete a delivered spool segment", "path", seg.path, "error", err)
			}
		}
		kept = append(kept, seg)
	}
	clear(s.closed[len(kept):])
	s.closed = kept
	st := spoolStats{bytes: s.bytes, segments: len(s.closed), full: s.bytes >= s.max}
	all := s.closed
	if s.cur != nil {
		st.segments++
		all = append(slices.Clip(all), s.cur)
	}
	for _, seg := range all {
		if off, ok := saved(seg.path); !ok || off < seg.size {
			st.oldest = now.Sub(seg.created)
			break
		}
	}
	return st
}

// close stops writing; the segments stay for the next start.
func (s *spool) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollLocked()
}

// glob is the pattern the file input reads the segments by.
func (s *spool) glob() string {
	esc := strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`).Replace(s.dir)
	return filepath.Join(esc, "*"+segmentExt)
}
