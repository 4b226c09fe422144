package file

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// handle is the reading side of a tracked file: its open reader, if any, and where
// reading stands. Nothing of it is checkpointed: a restart opens the file again at the
// acknowledged watermark.
type handle struct {
	rd *reader
	// readOff is the end of the last line handed out or skipped; acks move the watermark
	// up to it.
	readOff  int64
	more     bool  // may hold complete lines not read yet
	eofSize  int64 // physical size when the end was last reached; -1 when unknown
	lastRead time.Time
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

// closeIdle closes the files read to their end and not read for close_inactive: the
// next read opens them again.
func (in *Input) closeIdle(now time.Time) {
	for _, t := range in.files {
		if t.rd != nil && !t.more && now.Sub(t.lastRead) >= in.cfg.CloseInactive {
			in.closeReader(t)
		}
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
