package file

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/auditship/auditship/pipeline"
)

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
	in.watch.add(in.dirsOf(found), in.log)
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
		fileState: fileState{key: key, fp: newFingerprint(prefix), acks: pipeline.NewAckTracker(off), size: off},
		handle:    handle{readOff: off, eofSize: -1},
		confirmed: true, verSize: fi.Size(), verMod: fi.ModTime(),
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

func (in *Input) matchFingerprint(prefix sample) *tracked {
	var best *tracked
	for _, t := range in.files {
		if t.fp.Len > 0 && (best == nil || t.fp.Len > best.fp.Len) && t.fp.matches(prefix) {
			best = t
		}
	}
	return best
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
