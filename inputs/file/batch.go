package file

import (
	"errors"
	"io/fs"
	"sync"
	"time"

	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/pipeline"
)

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
	lines, skipped, ok := in.readLines(t, now)
	if !ok {
		return nil, nil
	}
	decode.DecodeBatch(in.dec, lines)
	var (
		events  pipeline.Batch
		invalid int
	)
	for i := range lines {
		if err := lines[i].Err; err != nil {
			invalid++
			in.warn("skipped an invalid line", "path", t.path, "offset", lines[i].Off, "error", err)
			continue
		}
		events = append(events, lines[i].Events...)
	}
	t.lastRead = now
	n := t.readOff - start
	if n == 0 {
		return nil, nil
	}
	in.account(n, events, invalid, skipped)
	if t.readOff > t.size {
		t.size = t.readOff
	}
	seq := t.acks.Track(t.readOff)
	if len(events) == 0 {
		t.acks.Ack(seq)
		in.dirty.Store(true)
		return nil, nil
	}
	return events, in.ackFunc(t.acks, seq, t.path)
}

// readLines reads t's next lines, up to batch_max_events non-blank lines or
// batch_max_bytes, each copied out of the reader's buffer. skipped counts lines over
// max_line_bytes. ok is false when nothing of it may be handed out: the file's first
// bytes changed under it, so the read offset is back where it started and a scan is due.
func (in *Input) readLines(t *tracked, now time.Time) (lines []decode.Line, skipped int, ok bool) {
	start := t.readOff
	var nuls, nulOff int64
	for len(lines) < in.cfg.BatchMaxEvents && t.readOff-start < int64(in.cfg.BatchMaxBytes) {
		prev := t.readOff
		fr, line, err := t.rd.next()
		if err == nil { // else the offset stays and the NULs are skipped again
			if nuls == 0 && t.rd.nuls > 0 {
				// The run starts where the line before it ended (a NUL ends a line too).
				nulOff = prev
			}
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
			return nil, 0, false
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
		lines = append(lines, decode.Line{Off: lineOff, Bytes: own})
	}
	if nuls > 0 {
		in.met.InputNULBytesSkipped(in.name, nuls)
		in.warn("skipped NUL bytes between lines (a writer kept its offset after a copytruncate, or a crash left zeros)",
			"path", t.path, "offset", nulOff, "bytes", nuls)
	}
	return lines, skipped, true
}

// account counts a batch of n bytes read in the metrics.
func (in *Input) account(n int64, events pipeline.Batch, invalid, skipped int) {
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
}

// ackFunc returns the ack of the batch tracked as seq in acks: once delivered, the
// watermark may move past it and the checkpoint is saved soon. It runs on the output's
// goroutine, so it touches only the tracker (safe for concurrent use) and the signals.
func (in *Input) ackFunc(acks *pipeline.AckTracker, seq uint64, path string) pipeline.AckFunc {
	var once sync.Once
	return func(err error) {
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
