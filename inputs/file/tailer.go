package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// tracked is one file identity: the checkpointed state plus, while it is being read, an
// open reader. It outlives paths and inodes: a rename, a gzip or a copytruncate copy
// rebinds it to another path or inode with the same fingerprint.
type tracked struct {
	path   string
	key    fileKey // zero while bound to no inode (its content is looked for by fingerprint)
	gz     bool
	backup bool
	fp     fingerprint
	acks   *pipeline.AckTracker
	// readOff is the end of the last line handed out or skipped; acks move the watermark
	// up to it.
	readOff int64
	// size is the content size last seen (uncompressed for a .gz once read to its end).
	size     int64
	lastSeen time.Time
	seen     bool // matched by the latest scan
	rd       *reader
	more     bool  // may hold complete lines not read yet
	eofSize  int64 // physical size when the end was last reached; -1 when unknown
	lastRead time.Time
	// confirmed: the fingerprint was checked against the file at key when it had
	// verSize and verMod, so an unchanged file need not be read again to be trusted.
	confirmed bool
	verSize   int64
	verMod    time.Time
	// gzEnded: this .gz was read to its end, so size is its exact uncompressed size. Until
	// then size may be that of the plain file it was compressed from, which can have
	// grown (unseen, while the agent was down) before the compression.
	gzEnded     bool
	lostCounted bool
	// avgLine is the mean line size seen in this file, to estimate how many events
	// vanished with its unread bytes.
	avgLine           float64
	linesIn, lineByte int64
	// anchors are line tails read from a plain file that is written to, oldest first.
	anchors []anchor
}

// Input is the `type: file` input.
type Input struct {
	cfg     Config
	name    string
	once    bool
	log     hclog.Logger
	met     config.Metrics
	dec     decode.Decoder
	find    finder
	reg     registry
	maxLine int
	fpBytes int

	mu    sync.Mutex
	files []*tracked
	byKey map[fileKey]*tracked
	dups  map[fileKey]int64 // inodes holding a copy of a file read elsewhere, by size
	// young: backups whose first bytes are too few to tell whose content they are and
	// that were still growing at the last scan (a copy or a gzip being written), by size.
	young    map[fileKey]int64
	youngFor time.Duration
	probed   map[fileKey]probe // files findMoved sampled
	order    []*tracked
	fresh    bool // no checkpoint existed: start_at applies to the first scan
	scanned  bool
	lastScan time.Time
	lastPoll time.Time
	eventsIn int64
	bytesIn  int64
	opens    int // files opened for reading, for tests
	warned   map[string]*warnClass
	badGzip  map[fileKey]probe // .gz files that cannot be decompressed, counted lost

	needScan atomic.Bool
	needPoll atomic.Bool
	dirty    atomic.Bool
	wake     chan struct{}
	saveNow  chan struct{}
	watcher  *fsnotify.Watcher
	watched  map[string]bool

	saveMu sync.Mutex
	// saved is each path's offset in the checkpoint last written, for Saved.
	saved     map[string]int64
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

var (
	errClosed   = errors.New("file input closed")
	errReplaced = errors.New("no longer the file it was")
)

// youngFor is how long a backup too short to be fingerprinted must stay unchanged before
// it is taken for a file of its own rather than a copy still being written.
const youngFor = time.Second

// New creates the input, loading its checkpoint from set.DataDir.
func New(c *Config, set config.Settings) (*Input, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	dec, err := decode.New(c.Format)
	if err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	log := set.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	met := set.Metrics
	if met == nil {
		met = config.NopMetrics{}
	}
	in := &Input{
		cfg:      *c,
		name:     set.Name,
		once:     set.Once,
		log:      log,
		met:      met,
		dec:      dec,
		find:     finder{include: c.Paths, exclude: c.Exclude},
		reg:      registry{store: pipeline.NewCheckpointStore(filepath.Join(set.DataDir, "inputs", set.Name+".json"))},
		maxLine:  int(c.MaxLineBytes),
		fpBytes:  int(c.FingerprintBytes),
		byKey:    map[fileKey]*tracked{},
		dups:     map[fileKey]int64{},
		young:    map[fileKey]int64{},
		probed:   map[fileKey]probe{},
		warned:   map[string]*warnClass{},
		badGzip:  map[fileKey]probe{},
		youngFor: youngFor,
		wake:     make(chan struct{}, 1),
		saveNow:  make(chan struct{}, 1),
		watched:  map[string]bool{},
		stop:     make(chan struct{}),
	}
	states, found, err := in.reg.load(set.ResetCorruptCheckpoints, log)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", set.Name, err)
	}
	in.saved = make(map[string]int64, len(states))
	for _, st := range states {
		if st.Path != "" && !st.Unreadable {
			in.saved[st.Path] = st.Offset
		}
		if st.Unreadable {
			in.badGzip[fileKey{Dev: st.Dev, Ino: st.Inode}] = probe{size: st.Size, mod: st.LastSeen}
			continue
		}
		fp, err := parseFingerprint(st.Fingerprint, st.FingerprintLen, st.FingerprintLead)
		if err != nil {
			if !set.ResetCorruptCheckpoints {
				return nil, fmt.Errorf("input %s: %w %s: %v (set reset_corrupt_checkpoints: true to start afresh)",
					set.Name, pipeline.ErrCorruptCheckpoint, in.reg.store.Path(), err)
			}
			log.Warn("dropping a checkpoint entry that cannot be decoded", "path", st.Path, "error", err)
			continue
		}
		if fp.Len == 0 {
			// No identity (tracked while empty, nothing read): bound by inode alone it
			// would claim whatever file reused the inode while the agent was down.
			log.Debug("dropping a checkpoint entry without a fingerprint", "path", st.Path)
			continue
		}
		t := &tracked{
			path: st.Path, key: fileKey{Dev: st.Dev, Ino: st.Inode}, gz: st.Gzip, fp: fp,
			acks: pipeline.NewAckTracker(st.Offset), readOff: st.Offset, size: st.Size,
			lastSeen: st.LastSeen, eofSize: -1, more: true, avgLine: float64(st.AvgLineBytes),
			gzEnded: st.Gzip && st.Ended, lostCounted: st.Lost, anchors: st.Anchors,
		}
		in.files = append(in.files, t)
		if t.key != (fileKey{}) {
			in.byKey[t.key] = t
		}
	}
	in.fresh = !found
	if in.fresh && c.StartAt == "end" {
		// start_at applies to the agent's first start on data_dir only. Another input's
		// checkpoint there means the agent ran before, so this input was renamed or added
		// (by a reload or a restart): skipping what its files hold would lose events no
		// one shipped, silently.
		if others, err := in.reg.others(); err != nil || len(others) > 0 {
			log.Warn("start_at: end ignored: data_dir holds checkpoints of other inputs (this input was renamed or added after the first start); reading its files from the beginning so nothing is skipped",
				"other_inputs", others, "error", err)
			in.fresh = false
		}
	}
	if c.Watch && !set.Once {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			log.Warn("file events unavailable; polling only", "poll_interval", c.PollInterval, "error", err)
		} else {
			in.watcher = w
			in.wg.Add(1)
			go in.watchLoop()
		}
	}
	in.wg.Add(1)
	go in.persistLoop()
	return in, nil
}

// Read returns the next batch, every event of which comes from one file.
func (in *Input) Read(ctx context.Context) (pipeline.Batch, pipeline.AckFunc, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		select {
		case <-in.stop:
			return nil, nil, errClosed
		default:
		}
		b, ack, end := in.step(ctx)
		if b != nil {
			return b, ack, nil
		}
		if end {
			return nil, nil, pipeline.ErrEndOfInput
		}
		timer := time.NewTimer(in.cfg.PollInterval)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, nil, ctx.Err()
		case <-in.stop:
			timer.Stop()
			return nil, nil, errClosed
		case <-in.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// step looks for changes and reads one batch; end is set in once mode when every file
// was read to its end.
func (in *Input) step(ctx context.Context) (pipeline.Batch, pipeline.AckFunc, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	now := time.Now()
	switch {
	case !in.scanned || in.needScan.Swap(false) || now.Sub(in.lastScan) >= in.cfg.RescanInterval:
		in.scan(now)
	case in.needPoll.Swap(false) || now.Sub(in.lastPoll) >= in.cfg.PollInterval:
		in.poll(now)
	}
	// A file whose lines yield no events (blank, invalid, a decompression bomb) is read on
	// for at most this much per step, so it cannot hold up every other file.
	budget := 4 * int64(in.cfg.BatchMaxBytes)
	for _, t := range in.order {
		for spent := int64(0); t.more && ctx.Err() == nil && spent < budget; {
			from := t.readOff
			if b, ack := in.readBatch(t, now); b != nil {
				return b, ack, false
			}
			spent += max(t.readOff-from, 1)
		}
	}
	if !in.once || ctx.Err() != nil || in.needScan.Load() {
		return nil, nil, false
	}
	for _, t := range in.order {
		if t.more {
			return nil, nil, false
		}
	}
	return nil, nil, true
}

// scan expands the globs and binds every file found to an identity: by inode when the
// fingerprint still matches, else by fingerprint (a renamed, compressed or copied file),
// else as a new file.
func (in *Input) scan(now time.Time) {
	in.lastScan, in.lastPoll = now, now
	found, err := in.find.find()
	if err != nil {
		in.log.Warn("expanding paths", "error", err)
	}
	for _, t := range in.files {
		t.seen = false
	}
	type cand struct {
		foundPath
		key fileKey
		fi  os.FileInfo
		t   *tracked
	}
	young := map[fileKey]int64{}
	youngOf := map[string]bool{} // live files with a young backup
	badGzip := map[fileKey]probe{}
	cands := make([]cand, 0, len(found))
	for _, p := range found {
		fi, err := os.Stat(p.Path)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		cands = append(cands, cand{foundPath: p, key: keyOf(fi), fi: fi})
	}
	// Known inodes whose content still starts as it did.
	for i := range cands {
		c := &cands[i]
		t := in.byKey[c.key]
		if t == nil || t.seen || c.key == (fileKey{}) {
			continue
		}
		if !in.confirm(t, c.Path, isGzip(c.Path), c.fi) {
			in.log.Debug("file content changed under the same inode: truncated or replaced", "path", c.Path)
			in.unbind(t)
			continue
		}
		in.bind(t, c.foundPath, c.fi, now)
		c.t = t
	}
	// New inodes: a known file under a new inode (compressed, copied), or a new file.
	for i := range cands {
		c := &cands[i]
		if c.t != nil {
			continue
		}
		if t := in.byKey[c.key]; t != nil && t.seen {
			continue // a second name (hard link) of a file already bound
		}
		if size, ok := in.dups[c.key]; ok && size == c.fi.Size() {
			continue
		}
		gz := isGzip(c.Path)
		if pr, ok := in.badGzip[c.key]; ok && gz && pr.size == c.fi.Size() && pr.mod.Equal(c.fi.ModTime()) {
			badGzip[c.key] = pr // counted already; not decompressed again
			continue
		}
		prefix, key, err := readPrefix(c.Path, gz, in.fpBytes)
		if err == nil && gz && len(prefix.b) == 0 && prefix.lead >= maxGzipNULLead {
			err = errGzipRatio // nothing but NULs as far as it was decompressed
		}
		if err != nil {
			in.log.Debug("cannot fingerprint file", "path", c.Path, "error", err)
			if gz && key == c.key {
				in.unreadableGzip(c.Path, c.fi, err, badGzip, now)
			}
			continue
		}
		if key != c.key {
			in.needScan.Store(true) // replaced between stat and open
			continue
		}
		if t := in.matchFingerprint(prefix); t != nil {
			if t.seen || t.rd != nil {
				// The same content read elsewhere: a gzip of a backup, a copy taken
				// before a truncation, a glob matching both. Identity is the content,
				// so it is never read twice.
				in.dups[c.key] = c.fi.Size()
				continue
			}
			in.rebind(t, c.Path, c.key, gz, prefix, c.fi)
			in.bind(t, c.foundPath, c.fi, now)
			if !gz {
				in.checkTail(t, c.Path, c.fi)
			}
			c.t = t
			continue
		}
		if len(prefix.b) == 0 && gz {
			continue // a gzip not written far enough to tell what it holds
		}
		if c.Backup && len(prefix.b) < in.fpBytes {
			if size, ok := in.young[c.key]; !ok || size != c.fi.Size() || now.Sub(c.fi.ModTime()) < in.youngFor {
				// Too short to be matched against a fingerprint and maybe still being
				// written (copytruncate's copy, a gzip): tracked as a file of its own now,
				// it would be read again from 0 and the file whose content it is would
				// count as lost. A backup is complete once it stops changing; two scans
				// can be microseconds apart, hence the age.
				young[c.key] = c.fi.Size()
				youngOf[c.Live] = true
				in.needScan.Store(true)
				continue
			}
		}
		c.t = in.track(c.foundPath, c.key, gz, prefix, c.fi, now)
	}
	in.young, in.badGzip = young, badGzip
	paths := make(map[string]bool, len(cands))
	for _, c := range cands {
		paths[c.Path] = true
	}
	moved := in.findMoved(in.dirsOf(found), paths, now)
	in.forgetUnseen(now)
	in.order = in.order[:0]
	for _, t := range in.files {
		if !t.seen && t.rd != nil {
			in.order = append(in.order, t) // draining a deleted or renamed-away file: oldest first
		}
	}
	in.order = append(in.order, moved...)
	for _, c := range cands {
		if c.t != nil && (c.Backup || !youngOf[c.Live]) {
			// A live file waits for a young backup of its own: older content first.
			in.order = append(in.order, c.t)
		}
	}
	in.scanned, in.fresh = true, false
	in.watchDirs(found)
	in.dirty.Store(true)
}

// findMoved looks for checkpointed files the globs no longer find among every other file
// of dirs: a backup renamed by a second rotator (logrotate over lumberjack:
// audit-2026-11-20T10-00-00.000.log -> ...log.1, maybe compressed) or moved to another
// name. A file is taken by identity only: its inode with the same first bytes, or its
// fingerprint. Each file's sample is kept while its size and mtime stay the same, so a
// directory of unrelated files is read once, not at every scan.
func (in *Input) findMoved(dirs []string, skip map[string]bool, now time.Time) []*tracked {
	missing := 0
	for _, t := range in.files {
		if !t.seen && t.rd == nil && t.fp.Len > 0 {
			missing++
		}
	}
	if missing == 0 {
		clear(in.probed)
		return nil
	}
	var moved []*tracked
	probed := make(map[fileKey]probe, len(in.probed))
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if skip[p] || !e.Type().IsRegular() || in.find.excluded(p) {
				continue
			}
			fi, err := os.Stat(p)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			key := keyOf(fi)
			if t := in.byKey[key]; t != nil && (t.seen || t.rd != nil) {
				continue
			}
			if _, dup := in.dups[key]; dup {
				continue
			}
			gz := isGzip(p)
			pr, ok := in.probed[key]
			if !ok || pr.size != fi.Size() || !pr.mod.Equal(fi.ModTime()) {
				s, k, err := readPrefix(p, gz, in.fpBytes)
				if err != nil || k != key {
					continue
				}
				pr = probe{size: fi.Size(), mod: fi.ModTime(), s: s}
			}
			probed[key] = pr
			t := in.byKey[key]
			if t == nil || !t.fp.matches(pr.s) {
				t = in.matchFingerprint(pr.s)
			}
			if t == nil || t.seen || t.rd != nil {
				continue
			}
			if t.key != key {
				in.rebind(t, p, key, gz, pr.s, fi)
			}
			in.bind(t, foundPath{Path: p, Live: p, Backup: true}, fi, now)
			in.log.Info("found a checkpointed file under a name the paths do not match; reading it to its end",
				"path", p, "offset", t.readOff)
			moved = append(moved, t)
		}
	}
	in.probed = probed
	return moved
}

// probe is the sample of a file findMoved looked at, valid while size and mod hold.
type probe struct {
	size int64
	mod  time.Time
	s    sample
}

// dirsOf returns the directories of the files found and of the literal patterns: where
// rotation moves files.
func (in *Input) dirsOf(found []foundPath) []string {
	set := map[string]bool{}
	for _, p := range found {
		set[filepath.Dir(p.Path)] = true
	}
	for _, p := range in.cfg.Paths {
		if d := filepath.Dir(p); !hasMeta(d) {
			set[d] = true
		}
	}
	dirs := make([]string, 0, len(set))
	for d := range set {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	return dirs
}

// confirm checks that the file at path, bound to t by inode, is still t's content.
func (in *Input) confirm(t *tracked, path string, gz bool, fi os.FileInfo) bool {
	if t.confirmed && fi.Size() == t.verSize && fi.ModTime().Equal(t.verMod) {
		return true
	}
	prefix, key, err := readPrefix(path, gz, in.fpBytes)
	if err != nil || key != keyOf(fi) {
		return true // cannot tell now; the next scan checks again
	}
	if t.fp.Len > 0 && !t.fp.matches(prefix) {
		return false
	}
	if t.fp.Len == 0 && t.readOff > 0 {
		return false // read before without an identity: nothing to prove it is the same file
	}
	if !gz && !in.checkTail(t, path, fi) {
		return true // cannot tell now; the next scan checks again
	}
	if len(prefix.b) > t.fp.Len {
		t.fp = newFingerprint(prefix)
	}
	t.confirmed, t.verSize, t.verMod = true, fi.Size(), fi.ModTime()
	return true
}

// checkTail verifies, for a plain file whose first bytes match t, that what lies before
// t's read offset is still what was read, and moves the read offset back to where it
// still is when not (truncated and written again: a power loss cut the unsynced tail and
// the writer appended after the cut). It reports false when the file cannot be read now.
func (in *Input) checkTail(t *tracked, path string, fi os.FileInfo) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if cur, err := f.Stat(); err != nil || keyOf(cur) != t.key {
		return false
	}
	resume, intact := resumePoint(t.anchors, t.readOff, fi.Size(), f)
	if !intact {
		in.truncated(t, resume, fi.Size())
	}
	return true
}

// truncated moves t back to resume, where its content is still what was read: the lines
// after it are read (again, for those that were shipped before the cut: Elasticsearch
// overwrites them by _id). What had been seen past the read offset and was never read is
// gone with the cut, and counted lost.
func (in *Input) truncated(t *tracked, resume, size int64) {
	seen := t.size // the size last seen; while running, it may have grown after the cut
	if t.verSize > 0 {
		seen = min(seen, t.verSize) // the size last seen with the content checked
	}
	lost := max(0, seen-t.readOff)
	events := int(math.Ceil(float64(lost) / in.avgLineBytes(t)))
	if lost > 0 {
		in.met.InputBytesLost(in.name, lost)
		in.met.InputEventsLost(in.name, events)
	}
	in.log.Warn("file was cut behind the read position and written again (a power loss cut its tail?); reading on from where it still holds what was read",
		"path", t.path, "offset", t.readOff, "resume_at", resume, "size", size, "read_again_bytes", max(0, t.readOff-resume),
		"unread_bytes_lost", lost, "estimated_events_lost", events)
	in.closeReader(t)
	t.readOff, t.acks, t.size = resume, pipeline.NewAckTracker(resume), size
	t.eofSize, t.more, t.confirmed = -1, size > resume, false
	t.anchors = anchorsUpTo(t.anchors, resume)
	in.dirty.Store(true)
}

func (in *Input) bind(t *tracked, p foundPath, fi os.FileInfo, now time.Time) {
	t.path, t.backup, t.gz = p.Path, p.Backup, isGzip(p.Path)
	if t.backup || t.gz {
		t.anchors = nil // no longer written to, so never cut and written again
	}
	t.seen, t.lastSeen = true, now
	if t.lostCounted {
		in.log.Info("file counted as lost was found again", "path", t.path)
		t.lostCounted = false
	}
	if fi.Size() < t.eofSize {
		t.eofSize = -1
	}
	if fi.Size() != t.eofSize {
		if t.gz {
			// A complete gzip never changes; one read to its end (size known) is done,
			// so a restart does not decompress every old backup again.
			t.more = !t.gzEnded || t.readOff < t.size
		} else {
			t.more = fi.Size() > t.readOff
		}
	}
	if !t.gz && fi.Size() > t.size {
		t.size = fi.Size()
	}
}

// rebind moves identity t to another inode holding its content.
func (in *Input) rebind(t *tracked, path string, key fileKey, gz bool, prefix sample, fi os.FileInfo) {
	in.closeReader(t)
	if t.key != (fileKey{}) && in.byKey[t.key] == t {
		delete(in.byKey, t.key)
	}
	if old := in.byKey[key]; old != nil && old != t {
		old.key = fileKey{}
	}
	t.key = key
	if key != (fileKey{}) {
		in.byKey[key] = t
	}
	t.gz = gz
	if len(prefix.b) > t.fp.Len {
		t.fp = newFingerprint(prefix)
	}
	t.confirmed, t.verSize, t.verMod = true, fi.Size(), fi.ModTime()
	t.eofSize, t.more, t.gzEnded = -1, true, false
	in.log.Debug("following file under a new name or inode", "path", path, "offset", t.readOff)
}

// unbind detaches t from its inode, whose content is no longer t's (copytruncate, or the
// inode reused). t's content may turn up elsewhere by fingerprint.
func (in *Input) unbind(t *tracked) {
	in.closeReader(t)
	if in.byKey[t.key] == t {
		delete(in.byKey, t.key)
	}
	t.key, t.confirmed, t.seen = fileKey{}, false, false
	clear(in.dups)
}

// track starts following a file never seen before.
func (in *Input) track(p foundPath, key fileKey, gz bool, prefix sample, fi os.FileInfo, now time.Time) *tracked {
	var off int64
	if in.fresh && in.cfg.StartAt == "end" {
		var err error
		if off, err = endOffset(p.Path, gz, fi.Size()); err != nil {
			in.log.Warn("cannot find the end of file for start_at: end; reading it from the beginning", "path", p.Path, "error", err)
			off = 0
		}
	}
	t := &tracked{
		key: key, fp: newFingerprint(prefix), acks: pipeline.NewAckTracker(off), readOff: off,
		size: off, eofSize: -1, confirmed: true, verSize: fi.Size(), verMod: fi.ModTime(),
	}
	if len(prefix.b) == 0 {
		t.fp = fingerprint{}
	}
	in.files = append(in.files, t)
	if key != (fileKey{}) {
		in.byKey[key] = t
	}
	in.bind(t, p, fi, now)
	in.log.Debug("new file", "path", p.Path, "offset", off)
	return t
}

// forgetUnseen counts what vanished unread and prunes entries gone too long.
func (in *Input) forgetUnseen(now time.Time) {
	live := map[fingerprint]bool{}
	for _, t := range in.files {
		if (t.seen || t.rd != nil) && t.fp.Len > 0 {
			live[t.fp] = true
		}
	}
	kept := in.files[:0]
	for _, t := range in.files {
		if t.seen || t.rd != nil {
			kept = append(kept, t)
			continue
		}
		if t.fp.Len > 0 && live[t.fp] {
			// Its content is being read under another entry (left by a duplicate
			// identity): not gone, and nothing to remember it for.
			if in.byKey[t.key] == t {
				delete(in.byKey, t.key)
			}
			in.log.Debug("dropping a second checkpoint entry of a file read under another", "path", t.path)
			continue
		}
		// While a backup is still being written it may be where this content went: wait.
		if !t.lostCounted && t.size > t.readOff && len(in.young) == 0 {
			lost := t.size - t.readOff
			events := int(math.Ceil(float64(lost) / in.avgLineBytes(t)))
			in.met.InputBytesLost(in.name, lost)
			in.met.InputEventsLost(in.name, events)
			in.log.Warn("file vanished before it was read to its end; its unread data is lost",
				"path", t.path, "unread_bytes", lost, "estimated_events", events)
			t.lostCounted = true
		} else if !t.lostCounted && len(in.young) == 0 && in.wasLive(t) {
			// Read to its end as far as the agent knows, but it was still written to:
			// what was appended after the last read (while the agent was down, or after
			// the file was closed as idle) went with it. How much is unknown; say so.
			in.met.InputFileVanished(in.name)
			in.log.Warn("live file rotated or deleted away before the agent could check its end; lines written to it after it was last read are lost (how many is unknown)",
				"path", t.path, "read_to", t.readOff, "last_seen", t.lastSeen)
			t.lostCounted = true
		}
		if t.lastSeen.IsZero() {
			t.lastSeen = now
		}
		if t.fp.Len == 0 || now.Sub(t.lastSeen) > in.cfg.PruneAfter {
			// Without a fingerprint it can never be found again, only confused with a
			// file that reuses its inode.
			if in.byKey[t.key] == t {
				delete(in.byKey, t.key)
			}
			in.log.Debug("forgetting a file that is gone", "path", t.path, "last_seen", t.lastSeen)
			continue
		}
		kept = append(kept, t)
	}
	clear(in.files[len(kept):])
	in.files = kept
}

// wasLive reports whether t was, when last read, a live file: at a path the config
// selects that is not a rotated backup's name, and not compressed. A live file is still
// written to (kube-apiserver appends until it rotates it), so one that vanishes may take
// unread lines with it even when it was read to its end; a backup or a .gz is not
// written to any more, so read to its end it is complete and retention may delete it.
func (in *Input) wasLive(t *tracked) bool {
	if t.gz || t.backup || isGzip(t.path) {
		return false
	}
	if _, ok := parseBackup(t.path); ok {
		return false
	}
	for _, p := range in.cfg.Paths {
		if ok, _ := filepath.Match(p, t.path); ok || p == t.path {
			return true
		}
	}
	return false
}

func (in *Input) avgLineBytes(t *tracked) float64 {
	switch {
	case t.linesIn > 0:
		return float64(t.lineByte) / float64(t.linesIn)
	case t.avgLine > 0:
		return t.avgLine
	case in.eventsIn > 0:
		return float64(in.bytesIn) / float64(in.eventsIn)
	}
	return 1024
}

func (in *Input) matchFingerprint(prefix sample) *tracked {
	var best *tracked
	for _, t := range in.files {
		if t.fp.Len > 0 && (best == nil || t.fp.Len > best.fp.Len) && t.fp.matches(prefix) {
			best = t
		}
	}
	return best
}

// poll checks known files for growth, truncation and rotation without expanding globs.
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
			if !t.more && now.Sub(t.lastRead) >= in.cfg.CloseInactive {
				in.closeReader(t)
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

// ensureOpen opens t's file at its read offset, making room under max_open_files.
func (in *Input) ensureOpen(t *tracked, now time.Time) error {
	if t.rd != nil {
		return nil
	}
	if t.key == (fileKey{}) || t.path == "" {
		return errors.New("file not bound to a path")
	}
	in.makeRoom()
	rd, err := openReader(t.path, t.gz, t.readOff, in.maxLine)
	if err != nil {
		return err
	}
	fi, err := rd.f.Stat()
	if err != nil || keyOf(fi) != t.key || (!t.gz && fi.Size() < t.readOff) {
		rd.close()
		in.needScan.Store(true)
		return fmt.Errorf("%s: %w", t.path, errReplaced)
	}
	t.rd, t.lastRead = rd, now
	return nil
}

func (in *Input) makeRoom() {
	open := 0
	var victim *tracked
	for _, t := range in.files {
		if t.rd == nil {
			continue
		}
		open++
		// A file without a name cannot be reopened: never close it to make room.
		if t.seen && (victim == nil || t.lastRead.Before(victim.lastRead)) {
			victim = t
		}
	}
	if open >= in.cfg.MaxOpenFiles && victim != nil {
		in.closeReader(victim)
	}
}

func (in *Input) closeReader(t *tracked) {
	if t.rd == nil {
		return
	}
	t.rd.close()
	t.rd = nil
	if !t.seen {
		clear(in.dups) // a copy skipped while this one drained may now be the only one
	}
}

// readBatch reads up to one batch from t. Lines that yield no event (invalid, blank,
// too long) are acknowledged at once, so they advance the checkpoint without shipping.
func (in *Input) readBatch(t *tracked, now time.Time) (pipeline.Batch, pipeline.AckFunc) {
	if t.rd == nil && t.gz {
		in.opens++ // an attempt, even when it fails
	}
	if err := in.ensureOpen(t, now); err != nil {
		in.log.Debug("cannot read file now", "path", t.path, "error", err)
		if !errors.Is(err, errReplaced) && !errors.Is(err, fs.ErrNotExist) {
			in.gzipStopped(t, err, now)
		}
		t.more = false
		return nil, nil
	}
	if !in.stillSame(t) {
		in.closeReader(t)
		in.needScan.Store(true)
		t.more = false
		return nil, nil
	}
	start := t.readOff
	var (
		events           pipeline.Batch
		invalid, skipped int
		nuls             int64
		lines            []pendingLine
	)
	for len(lines) < in.cfg.BatchMaxEvents && t.readOff-start < int64(in.cfg.BatchMaxBytes) {
		fr, line, err := t.rd.next()
		if err == nil { // else the offset stays and the NULs are skipped again
			nuls += t.rd.nuls
		}
		t.rd.nuls = 0
		if err == nil && t.gz && in.cfg.MaxGzipRatio > 0 && t.rd.pos > int64(in.cfg.MaxGzipRatio)*max(t.rd.zin.n, 64<<10) {
			err = errGzipRatio
		}
		if err != nil {
			// A gzip still being written, or an I/O error: try again later from the
			// last complete line, unless it is a .gz that will not get better.
			in.log.Debug("read stopped", "path", t.path, "offset", t.readOff, "error", err)
			in.gzipStopped(t, err, now)
			in.closeReader(t)
			t.more = false
			break
		}
		if fr == frameNone {
			t.readOff = t.rd.off // past NULs skipped at the end
			in.atEnd(t)
			break
		}
		lineOff := t.readOff
		t.readOff = t.rd.off
		if t.fp.Len < in.fpBytes && t.readOff > t.fp.Lead+int64(t.fp.Len) && !in.widenFingerprint(t) {
			// The file's first bytes changed since it was opened (truncated and written
			// again): nothing of this batch is handed out; the scan finds what it is now.
			t.readOff = start
			in.closeReader(t)
			in.needScan.Store(true)
			t.more = false
			return nil, nil
		}
		t.linesIn++
		t.lineByte += t.readOff - lineOff
		if fr == frameTooLong {
			skipped++
			in.warn("skipped a line longer than max_line_bytes", "path", t.path, "offset", lineOff, "max_line_bytes", in.maxLine)
			continue
		}
		if !t.gz && !t.backup {
			t.anchors = addAnchor(t.anchors, lineAnchor(line, t.rd.term, t.readOff))
		}
		if isBlank(line) {
			continue
		}
		// Each event owns its line: outputs may hold kept events for long (the object
		// store until an object is full), and must pin only those, not their neighbours.
		// make+copy compiles to one allocation that is not zeroed first (bytes.Clone
		// grows a slice, and clears the rounded-up tail of every line).
		own := make([]byte, len(line))
		copy(own, line)
		lines = append(lines, pendingLine{off: lineOff, line: own})
	}
	if nuls > 0 {
		in.met.InputNULBytesSkipped(in.name, nuls)
		in.warn("skipped NUL bytes between lines (a writer kept its offset after a copytruncate, or a crash left zeros)",
			"path", t.path, "offset", start, "bytes", nuls)
	}
	decodeLines(in.dec, lines)
	for i := range lines {
		if err := lines[i].err; err != nil {
			invalid++
			in.warn("skipped an invalid line", "path", t.path, "offset", lines[i].off, "error", err)
			continue
		}
		events = append(events, lines[i].events...)
	}
	t.lastRead = now
	n := t.readOff - start
	if n == 0 {
		return nil, nil
	}
	in.bytesIn += n
	in.eventsIn += int64(len(events))
	in.met.InputBytesRead(in.name, int(n))
	if len(events) > 0 {
		in.met.InputEventsRead(in.name, len(events))
		removed := 0
		for _, ev := range events {
			removed += ev.OutsideSchema
		}
		if removed > 0 {
			in.met.InputMembersRemoved(in.name, removed)
		}
	}
	if invalid > 0 {
		in.met.InputEventsInvalid(in.name, invalid)
	}
	if skipped > 0 {
		in.met.InputLinesSkipped(in.name, skipped)
	}
	if t.readOff > t.size {
		t.size = t.readOff
	}
	acks, path := t.acks, t.path
	seq := acks.Track(t.readOff)
	if len(events) == 0 {
		acks.Ack(seq)
		in.dirty.Store(true)
		return nil, nil
	}
	var once sync.Once
	ack := func(err error) {
		once.Do(func() {
			if err != nil {
				// Left unacknowledged: the checkpoint stays before this batch and a
				// restart reads it again.
				in.log.Warn("batch not delivered; it will be read again after a restart", "path", path, "error", err)
				return
			}
			acks.Ack(seq)
			in.dirty.Store(true)
			// Save soon rather than on the next tick: what was delivered but not yet
			// checkpointed is what a crash ships twice. Signals coalesce while a save runs.
			select {
			case in.saveNow <- struct{}{}:
			default:
			}
		})
	}
	return events, ack
}

// unreadableGzip counts a .gz matched by the paths that cannot be decompressed at all
// (not gzip, or cut inside its header), once it has stopped changing, as lost: its size
// on disk as bytes, events estimated from it (a lower bound: they were compressed). It is
// warned about and counted once per agent start while it stays as it is.
func (in *Input) unreadableGzip(path string, fi os.FileInfo, err error, bad map[fileKey]probe, now time.Time) {
	key := keyOf(fi)
	if now.Sub(fi.ModTime()) < in.youngFor {
		in.needScan.Store(true) // may be a gzip being written: look again
		return
	}
	pr := probe{size: fi.Size(), mod: fi.ModTime()}
	bad[key] = pr
	if old, ok := in.badGzip[key]; ok && old.size == pr.size && old.mod.Equal(pr.mod) {
		return
	}
	events := 0
	if fi.Size() > 0 {
		events = int(math.Ceil(float64(fi.Size()) / in.avgLineBytes(&tracked{})))
		in.met.InputBytesLost(in.name, fi.Size())
		in.met.InputEventsLost(in.name, events)
	}
	in.log.Warn("a .gz file cannot be decompressed; counted lost", "path", path, "bytes", fi.Size(), "estimated_events", events, "error", err)
}

// errGzipRatio stops a .gz that expands more than max_gzip_ratio.
var errGzipRatio = errors.New("expands more than max_gzip_ratio")

// gzipStopped decides what a .gz that could not be read on means. Still changing, it
// may be a gzip being written: the caller retries from the last complete line. Once it
// has not changed for youngFor (a crash during compression, a file that is not gzip past
// some point, trailing garbage), or when it expanded past max_gzip_ratio, it is done:
// what could not be read is counted lost and warned about once, its read position is
// kept, and it is not decompressed again from the start at every poll.
func (in *Input) gzipStopped(t *tracked, err error, now time.Time) {
	if !t.gz {
		return
	}
	var (
		fi        os.FileInfo
		serr      error
		used, pos int64
	)
	if t.rd != nil {
		fi, serr = t.rd.f.Stat()
		used, pos = t.rd.zin.n, t.rd.pos
	} else {
		fi, serr = os.Stat(t.path) // could not even reach the read position
	}
	if serr != nil || keyOf(fi) != t.key {
		return
	}
	if !errors.Is(err, errGzipRatio) && now.Sub(fi.ModTime()) < in.youngFor {
		in.needPoll.Store(true)
		return
	}
	// What is left: at least what the plain file held beyond this point when it was last
	// seen, the compressed rest at the expansion seen so far, or the partial line read.
	lost := max(0, t.size-t.readOff, pos-t.readOff)
	if used > 0 && fi.Size() > used {
		lost = max(lost, int64(float64(fi.Size()-used)*float64(pos)/float64(used)))
	}
	events := int(math.Ceil(float64(lost) / in.avgLineBytes(t)))
	if lost > 0 {
		in.met.InputBytesLost(in.name, lost)
		in.met.InputEventsLost(in.name, events)
	}
	in.log.Warn("a .gz file cannot be read to its end; what follows the last complete line is counted lost",
		"path", t.path, "offset", t.readOff, "estimated_lost_bytes", lost, "estimated_events", events, "error", err)
	t.gzEnded, t.size, t.eofSize = true, t.readOff, fi.Size()
	in.dirty.Store(true)
}

// widenFingerprint extends t's fingerprint over the bytes now read from it, up to
// fingerprint_bytes. A file tracked while empty or short would otherwise be checkpointed
// with lines handed out past its fingerprint, and a rescan or restart could not tell it
// from new content at the same inode: it read it again from 0 and counted the old
// identity's unread bytes as lost. It reports false when the first bytes no longer match.
func (in *Input) widenFingerprint(t *tracked) bool {
	prefix, err := prefixOf(t.rd.f, t.gz, in.fpBytes)
	if err != nil || int64(len(prefix.b)) < min(t.readOff-prefix.lead, int64(in.fpBytes)) {
		return false
	}
	if t.fp.Len > 0 && !t.fp.matches(prefix) {
		return false
	}
	if len(prefix.b) > t.fp.Len {
		t.fp = newFingerprint(prefix)
		in.dirty.Store(true)
	}
	return true
}

// stillSame re-checks a growing plain file's first bytes before reading on: a
// copytruncate followed by fast writes can leave the file larger than the offset, and
// reading on would start mid-line in different content.
func (in *Input) stillSame(t *tracked) bool {
	if t.gz || t.fp.Len == 0 {
		return true
	}
	fi, err := t.rd.f.Stat()
	if err != nil {
		return false
	}
	if fi.Size() == t.verSize && fi.ModTime().Equal(t.verMod) && t.confirmed {
		return true
	}
	if fi.Size() < t.readOff {
		return false
	}
	prefix, err := prefixOf(t.rd.f, false, t.fp.Len)
	if err != nil || !t.fp.matches(prefix) {
		return false
	}
	if _, intact := resumePoint(t.anchors, t.readOff, fi.Size(), t.rd.f); !intact {
		return false // cut and written again: the scan finds where to resume
	}
	t.confirmed, t.verSize, t.verMod = true, fi.Size(), fi.ModTime()
	return true
}

// atEnd records that t has no complete line left, widens a short fingerprint now that
// the file is longer, and closes files that will not grow again.
func (in *Input) atEnd(t *tracked) {
	t.more = false
	fi, err := t.rd.f.Stat()
	if err != nil {
		in.closeReader(t)
		return
	}
	t.eofSize = fi.Size()
	if t.gz {
		t.size, t.gzEnded = t.rd.pos, true
	} else if fi.Size() > t.size {
		t.size = fi.Size()
	}
	if !t.gz && t.fp.Len < in.fpBytes && fi.Size() > t.fp.Lead+int64(t.fp.Len) {
		if prefix, err := prefixOf(t.rd.f, false, in.fpBytes); err == nil {
			if t.fp.Len == 0 || t.fp.matches(prefix) {
				t.fp = newFingerprint(prefix)
				in.dirty.Store(true)
			} else {
				in.needScan.Store(true)
			}
		}
	}
	if t.gz || t.backup || !t.seen || unlinked(fi) {
		in.closeReader(t)
	}
}

// warnEvery is how often one class of per-line warning is logged.
const warnEvery = 10 * time.Second

// warn logs a per-line warning at most once per warnEvery for each message (its class),
// at any log level, with how many like it were held back since: a 2.3 KB .gz of bad lines
// made a million debug lines when each was logged. Never logs line content.
func (in *Input) warn(msg string, args ...any) {
	now := time.Now()
	w := in.warned[msg]
	if w == nil {
		w = &warnClass{}
		in.warned[msg] = w
	}
	if !w.last.IsZero() && now.Sub(w.last) < warnEvery {
		w.held++
		return
	}
	if w.held > 0 {
		args = append(args, "more_since_last_warning", w.held)
	}
	w.last, w.held = now, 0
	in.log.Warn(msg, args...)
}

// warnClass is the state of one class of per-line warning.
type warnClass struct {
	last time.Time
	held int64
}

func isGzip(path string) bool { return strings.HasSuffix(path, ".gz") }

// endOffset is where start_at: end begins: after the last complete line.
func endOffset(path string, gz bool, size int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	if gz {
		r, err := openReader(path, true, 0, 1<<30)
		if err != nil {
			return 0, err
		}
		defer r.close()
		n, err := io.Copy(io.Discard, r.br)
		if err != nil {
			return 0, fmt.Errorf("decompress %s: %w", path, err)
		}
		return n, nil
	}
	const tail = 64 << 10
	from := max(0, size-tail)
	buf := make([]byte, size-from)
	if _, err := f.ReadAt(buf, from); err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		return from + int64(i) + 1, nil
	}
	return size, nil
}

// watchDirs adds the directories of the files and of the literal patterns to fsnotify.
func (in *Input) watchDirs(found []foundPath) {
	if in.watcher == nil {
		return
	}
	for _, d := range in.dirsOf(found) {
		if in.watched[d] {
			continue
		}
		in.watched[d] = true
		if err := in.watcher.Add(d); err != nil {
			in.log.Debug("cannot watch directory; polling it", "dir", d, "error", err)
		}
	}
}

func (in *Input) signal() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

func (in *Input) watchLoop() {
	defer in.wg.Done()
	for {
		select {
		case <-in.stop:
			return
		case ev, ok := <-in.watcher.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
				in.needScan.Store(true)
			} else {
				in.needPoll.Store(true)
			}
			in.signal()
		case err, ok := <-in.watcher.Errors:
			if !ok {
				return
			}
			in.log.Debug("file events", "error", err)
			in.needScan.Store(true) // events may have been dropped
			in.signal()
		}
	}
}

func (in *Input) persistLoop() {
	defer in.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-in.stop:
			return
		case <-tick.C:
		case <-in.saveNow:
		}
		if err := in.persist(in.dirty.Swap(false)); err != nil {
			in.dirty.Store(true)
			in.log.Error("saving checkpoint", "error", err)
		}
	}
}

// persist reports the checkpoint lag and, when save is set, writes the watermarks.
func (in *Input) persist(save bool) error {
	in.saveMu.Lock()
	defer in.saveMu.Unlock()
	in.mu.Lock()
	states := make([]FileState, 0, len(in.files))
	var lag int64
	for _, t := range in.files {
		wm := t.acks.Watermark()
		if t.size > wm && !t.lostCounted {
			// What was counted lost can never be delivered: as lag it would hold /healthz
			// at "wedged" until prune_after forgets the entry.
			lag += t.size - wm
		}
		if t.fp.Len == 0 {
			// Nothing read from it (its fingerprint widens with the first line read) and
			// no identity to find it by: a restart finds the file afresh.
			continue
		}
		states = append(states, FileState{
			Path: t.path, Dev: t.key.Dev, Inode: t.key.Ino,
			Fingerprint: t.fp.String(), FingerprintLen: t.fp.Len, FingerprintLead: t.fp.Lead, Gzip: t.gz,
			Offset: wm, Size: t.size, LastSeen: t.lastSeen, AvgLineBytes: int64(in.avgLineBytes(t)),
			Ended: t.gz && t.gzEnded, Lost: t.lostCounted, Anchors: slices.Clone(anchorsUpTo(t.anchors, wm)), // saved outside mu
		})
	}
	for key, pr := range in.badGzip {
		states = append(states, FileState{Dev: key.Dev, Inode: key.Ino, Size: pr.size, LastSeen: pr.mod, Unreadable: true})
	}
	in.mu.Unlock()
	in.met.InputCheckpointLag(in.name, lag)
	var err error
	if save {
		if err = in.reg.save(states); err == nil {
			saved := make(map[string]int64, len(states))
			for _, st := range states {
				if st.Path != "" {
					saved[st.Path] = st.Offset
				}
			}
			in.saved = saved // under saveMu
		}
	}
	// Reported either way: nothing to save means the checkpoint on disk is current.
	in.met.InputCheckpointSaved(in.name, err)
	return err
}

// Saved returns the offset of path in the checkpoint last written to disk: every line
// before it was delivered (or skipped as invalid), and stays so across a restart. ok is
// false when that checkpoint holds no entry for path. A spool that hands its segments to
// this input deletes a segment it writes no more once Saved reaches its size.
func (in *Input) Saved(path string) (offset int64, ok bool) {
	in.saveMu.Lock()
	defer in.saveMu.Unlock()
	offset, ok = in.saved[path]
	return offset, ok
}

// Close stops the watcher, writes the final checkpoint and closes every file.
func (in *Input) Close() error {
	in.closeOnce.Do(func() {
		close(in.stop)
		if in.watcher != nil {
			in.watcher.Close()
		}
		in.wg.Wait()
		in.closeErr = in.persist(true)
		in.mu.Lock()
		for _, t := range in.files {
			in.closeReader(t)
		}
		in.mu.Unlock()
	})
	return in.closeErr
}

// pendingLine is a line of a batch waiting to be decoded, then its result.
type pendingLine struct {
	off    int64
	line   []byte
	events []*pipeline.Event
	err    error
}

// decodeWorkers bounds the goroutines one batch is decoded with: decoding is most of the
// agent's work, and the batch's lines are independent.
const decodeWorkers = 4

// decodeLines decodes every line, in parallel on up to GOMAXPROCS cores for a batch big
// enough to be worth it; results stay in line order.
func decodeLines(dec decode.Decoder, lines []pendingLine) {
	workers := min(runtime.GOMAXPROCS(0), decodeWorkers, len(lines)/32)
	if workers <= 1 {
		for i := range lines {
			lines[i].events, lines[i].err = dec.Decode(lines[i].line)
		}
		return
	}
	var wg sync.WaitGroup
	per := (len(lines) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		part := lines[min(w*per, len(lines)):min((w+1)*per, len(lines))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range part {
				part[i].events, part[i].err = dec.Decode(part[i].line)
			}
		}()
	}
	wg.Wait()
}
