package file

import (
	"errors"
	"math"
	"os"
	"time"

	"github.com/auditship/auditship/pipeline"
)

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
