package file

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/auditship/auditship/pipeline"
)

// scan expands the globs and binds every file found to an identity: by inode when the
// fingerprint still matches, else by fingerprint (a renamed, compressed or copied file),
// else as a new file. resolve decides; scan gathers what it needs and applies what it
// decided.
func (in *Input) scan(now time.Time) {
	in.lastScan, in.lastPoll = now, now
	paths, err := in.find.find()
	if err != nil {
		in.log.Warn("expanding paths", "error", err)
	}
	found := make([]foundFile, 0, len(paths))
	for _, p := range paths {
		fi, err := os.Stat(p.Path)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		found = append(found, foundFile{foundPath: p, key: keyOf(fi), size: fi.Size(), mod: fi.ModTime()})
	}
	st := scanState{
		known: make([]known, len(in.files)), byKey: make(map[fileKey]int, len(in.byKey)),
		memories: in.memories,
	}
	for k, t := range in.files {
		st.known[k] = known{
			path: t.path, key: t.key, fp: t.fp, gz: t.gz, backup: t.backup, reading: t.rd != nil,
			readOff: t.readOff, size: t.size, lastSeen: t.lastSeen, lostCounted: t.lostCounted,
			confirmed: t.confirmed, verSize: t.verSize, verMod: t.verMod,
		}
		if t.key != (fileKey{}) && in.byKey[t.key] == t {
			st.byKey[t.key] = k
		}
	}
	dirs := in.dirsOf(paths)
	rules := scanRules{fpBytes: in.fpBytes, youngFor: in.youngFor, pruneAfter: in.cfg.PruneAfter, paths: in.cfg.Paths}
	res := resolve(st, found, now, rules, diskLooker{in: in, dirs: dirs})
	in.apply(res, now)
	in.scanned, in.fresh = true, false
	in.watch.add(dirs, in.log)
	in.dirty.Store(true)
}

// apply carries out a resolution on the tracked identities, in the order it was decided.
func (in *Input) apply(res resolution, now time.Time) {
	for _, t := range in.files {
		t.seen = false
	}
	drop := map[*tracked]bool{}
	for _, c := range res.changes {
		var t *tracked
		if c.k >= 0 && c.k < len(in.files) {
			t = in.files[c.k]
		}
		switch c.kind {
		case same:
			if c.cut {
				in.truncated(t, c.resume, c.f.size)
			}
			if c.verified {
				if len(c.s.b) > t.fp.Len {
					t.fp = newFingerprint(c.s)
				}
				t.confirmed, t.verSize, t.verMod = true, c.f.size, c.f.mod
			}
			in.bind(t, c.f.foundPath, c.f.size, now)
		case replaced:
			in.log.Debug("file content changed under the same inode: truncated or replaced", "path", c.f.Path)
			in.unbind(t)
		case moved:
			in.rebind(t, c.f, c.s)
			in.bind(t, c.f.foundPath, c.f.size, now)
			if c.checkTail {
				in.checkTail(t, c.f.Path, c.f.size)
			}
		case movedAway:
			if c.rebind {
				in.rebind(t, c.f, c.s)
			}
			in.bind(t, c.f.foundPath, c.f.size, now)
			in.log.Info("found a checkpointed file under a name the paths do not match; reading it to its end",
				"path", c.f.Path, "offset", t.readOff)
		case copyOf:
			in.dups[c.f.key] = c.f.size
		case added:
			in.track(c.f, c.s, now)
		case undecided, unreadable:
			in.undecided(c)
		case vanishedLost, vanishedUnknown, gone:
			in.gone(t, c, now)
		case forget, dropDuplicate:
			if in.byKey[t.key] == t {
				delete(in.byKey, t.key)
			}
			if c.kind == forget {
				in.log.Debug("forgetting a file that is gone", "path", t.path, "last_seen", t.lastSeen)
			} else {
				in.log.Debug("dropping a second checkpoint entry of a file read under another", "path", t.path)
			}
			drop[t] = true
		}
	}
	in.order = in.order[:0]
	for _, k := range res.order {
		in.order = append(in.order, in.files[k])
	}
	kept := in.files[:0]
	for _, t := range in.files {
		if !drop[t] {
			kept = append(kept, t)
		}
	}
	clear(in.files[len(kept):])
	in.files = kept
	in.young, in.badGzip, in.probed = res.young, res.badGzip, res.probed
	if res.again {
		in.needScan.Store(true)
	}
}

// undecided logs why a file could not be told yet, and counts a .gz that cannot be
// decompressed at all as lost: its size on disk as bytes, events estimated from it (a
// lower bound: they were compressed). It is warned about and counted once per agent
// start while it stays as it is.
func (in *Input) undecided(c change) {
	if c.err != nil {
		in.log.Debug("cannot fingerprint file", "path", c.f.Path, "error", c.err)
	}
	if !c.lost {
		return
	}
	events := 0
	if c.f.size > 0 {
		events = int(math.Ceil(float64(c.f.size) / in.avgLineBytes(&tracked{})))
		in.met.InputBytesLost(in.name, c.f.size)
		in.met.InputEventsLost(in.name, events)
	}
	in.log.Warn("a .gz file cannot be decompressed; counted lost", "path", c.f.Path, "bytes", c.f.size, "estimated_events", events, "error", c.err)
}

// gone counts what an identity not found took with it, and keeps it to be found again.
func (in *Input) gone(t *tracked, c change, now time.Time) {
	switch c.kind {
	case vanishedLost:
		events := int(math.Ceil(float64(c.lostBytes) / in.avgLineBytes(t)))
		in.met.InputBytesLost(in.name, c.lostBytes)
		in.met.InputEventsLost(in.name, events)
		in.log.Warn("file vanished before it was read to its end; its unread data is lost",
			"path", t.path, "unread_bytes", c.lostBytes, "estimated_events", events)
		t.lostCounted = true
	case vanishedUnknown:
		// Read to its end as far as the agent knows, but it was still written to: what
		// was appended after the last read (while the agent was down, or after the file
		// was closed as idle) went with it. How much is unknown; say so.
		in.met.InputFileVanished(in.name)
		in.log.Warn("live file rotated or deleted away before the agent could check its end; lines written to it after it was last read are lost (how many is unknown)",
			"path", t.path, "read_to", t.readOff, "last_seen", t.lastSeen)
		t.lostCounted = true
	case gone:
		if t.lastSeen.IsZero() {
			t.lastSeen = now
		}
	}
}

// diskLooker is resolve's looker on the file system.
type diskLooker struct {
	in   *Input
	dirs []string // where rotation moves files (see dirsOf)
}

func (d diskLooker) prefix(path string, gz bool) (sample, fileKey, error) {
	return readPrefix(path, gz, d.in.fpBytes)
}

func (d diskLooker) tail(k int, path string, key fileKey, size int64) (int64, bool, bool) {
	return tailAt(d.in.files[k], path, key, size)
}

// around lists the regular files of d.dirs not excluded by the config and not in skip.
// resolve looks among them for checkpointed files the globs no longer find: a backup
// renamed by a second rotator (logrotate over lumberjack:
// audit-2026-11-20T10-00-00.000.log -> ...log.1, maybe compressed) or moved to another
// name. Their first bytes are read only when resolve asks, and kept while size and mtime
// stay the same, so a directory of unrelated files is read once, not at every scan.
func (d diskLooker) around(skip map[string]bool) []foundFile {
	var out []foundFile
	for _, dir := range d.dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if skip[p] || !e.Type().IsRegular() || d.in.find.excluded(p) {
				continue
			}
			fi, err := os.Stat(p)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			out = append(out, foundFile{foundPath: foundPath{Path: p, Live: p}, key: keyOf(fi), size: fi.Size(), mod: fi.ModTime()})
		}
	}
	return out
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

// tailAt reports whether what t read before its read offset is still in the file at
// path (inode key, size bytes), and if not where reading resumes (see resumePoint). ok is
// false when the file cannot be read now or is no longer at key.
func tailAt(t *tracked, path string, key fileKey, size int64) (resume int64, intact, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, false
	}
	defer f.Close()
	if cur, err := f.Stat(); err != nil || keyOf(cur) != key {
		return 0, false, false
	}
	resume, intact = resumePoint(t.anchors, t.readOff, size, f)
	return resume, intact, true
}

// checkTail verifies, for a plain file whose first bytes match t, that what lies before
// t's read offset is still what was read, and moves the read offset back to where it
// still is when not (truncated and written again: a power loss cut the unsynced tail and
// the writer appended after the cut).
func (in *Input) checkTail(t *tracked, path string, size int64) {
	if resume, intact, ok := tailAt(t, path, t.key, size); ok && !intact {
		in.truncated(t, resume, size)
	}
}

// bind records that t is the file p of size bytes, found by this scan.
func (in *Input) bind(t *tracked, p foundPath, size int64, now time.Time) {
	t.path, t.backup, t.gz = p.Path, p.Backup, isGzip(p.Path)
	if t.backup || t.gz {
		t.anchors = nil // no longer written to, so never cut and written again
	}
	t.seen, t.lastSeen = true, now
	if t.lostCounted {
		in.log.Info("file counted as lost was found again", "path", t.path)
		t.lostCounted = false
	}
	if size < t.eofSize {
		t.eofSize = -1
	}
	if size != t.eofSize {
		if t.gz {
			// A complete gzip never changes; one read to its end (size known) is done,
			// so a restart does not decompress every old backup again.
			t.more = !t.gzEnded || t.readOff < t.size
		} else {
			t.more = size > t.readOff
		}
	}
	if !t.gz && size > t.size {
		t.size = size
	}
}

// rebind moves identity t to f's inode, which holds its content (first bytes s).
func (in *Input) rebind(t *tracked, f foundFile, s sample) {
	in.closeReader(t)
	if t.key != (fileKey{}) && in.byKey[t.key] == t {
		delete(in.byKey, t.key)
	}
	if old := in.byKey[f.key]; old != nil && old != t {
		old.key = fileKey{}
	}
	t.key = f.key
	if f.key != (fileKey{}) {
		in.byKey[f.key] = t
	}
	t.gz = isGzip(f.Path)
	if len(s.b) > t.fp.Len {
		t.fp = newFingerprint(s)
	}
	t.confirmed, t.verSize, t.verMod = true, f.size, f.mod
	t.eofSize, t.more, t.gzEnded = -1, true, false
	in.log.Debug("following file under a new name or inode", "path", f.Path, "offset", t.readOff)
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

// track starts following a file never seen before, whose first bytes are s.
func (in *Input) track(f foundFile, s sample, now time.Time) *tracked {
	gz := isGzip(f.Path)
	var off int64
	if in.fresh && in.cfg.StartAt == "end" {
		var err error
		if off, err = endOffset(f.Path, gz, f.size); err != nil {
			in.log.Warn("cannot find the end of file for start_at: end; reading it from the beginning", "path", f.Path, "error", err)
			off = 0
		}
	}
	t := &tracked{
		fileState: fileState{key: f.key, fp: newFingerprint(s), acks: pipeline.NewAckTracker(off), size: off},
		handle:    handle{readOff: off, eofSize: -1},
		confirmed: true, verSize: f.size, verMod: f.mod,
	}
	if len(s.b) == 0 {
		t.fp = fingerprint{}
	}
	in.files = append(in.files, t)
	if f.key != (fileKey{}) {
		in.byKey[f.key] = t
	}
	in.bind(t, f.foundPath, f.size, now)
	in.log.Debug("new file", "path", f.Path, "offset", off)
	return t
}
