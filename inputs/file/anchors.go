package file

import (
	"hash/crc32"
	"io"
)

// anchor remembers the bytes just before a line boundary that was read: the CRC-32C of
// the Len bytes ending at End (the line's tail with its newline). A power loss can cut the
// unsynced tail of a live file, and kube-apiserver then appends after the cut: the file
// keeps its first bytes (and so its fingerprint) while what lies before the read position
// is no longer what was read. Anchors tell where the content still is what was read, so
// the agent resumes at the cut instead of mid-line in new content, or at its old offset
// past new lines.
type anchor struct {
	End int64  `json:"end"`
	Len int    `json:"len"`
	CRC uint32 `json:"crc"`
}

const (
	// anchorBytes bounds how much of a line's tail an anchor covers: an audit line's tail
	// holds its timestamps (and a short line its auditID).
	anchorBytes = 4 << 10
	// maxAnchors is how many anchors a file keeps; older ones are thinned out so that
	// their spacing grows with the distance from the newest (a cut is found to within
	// about a quarter of its distance back, whatever the file's size).
	maxAnchors = 64
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// lineAnchor is the anchor of a line that ends at end, line being its bytes without the
// terminator, term the terminator's length (1 for '\n', 0 for a NUL run that ended it).
func lineAnchor(line []byte, term int, end int64) anchor {
	n := len(line) + term
	if n > anchorBytes {
		line = line[len(line)-(anchorBytes-term):]
		n = anchorBytes
	}
	crc := crc32.Update(0, castagnoli, line)
	if term == 1 {
		crc = crc32.Update(crc, castagnoli, []byte{'\n'})
	}
	return anchor{End: end, Len: n, CRC: crc}
}

// addAnchor appends a (its End past every other) and thins the list to maxAnchors by
// dropping the anchor whose removal widens a gap the least relative to its distance from
// the newest: spacing grows geometrically going back.
func addAnchor(as []anchor, a anchor) []anchor {
	as = append(as, a)
	if len(as) <= maxAnchors {
		return as
	}
	// The oldest stays, so the start of the file is covered; so does the newest.
	head := as[len(as)-1].End
	drop, best := -1, 0.0
	for j := 1; j < len(as)-1; j++ {
		prev := as[j-1].End
		cost := float64(as[j+1].End-prev) / float64(head-prev+1)
		if drop < 0 || cost < best {
			drop, best = j, cost
		}
	}
	return append(as[:drop], as[drop+1:]...)
}

// anchorsUpTo returns the anchors at or before off.
func anchorsUpTo(as []anchor, off int64) []anchor {
	n := len(as)
	for n > 0 && as[n-1].End > off {
		n--
	}
	return as[:n]
}

// holds reports whether the bytes before a.End in r are still the ones a was taken over.
func (a anchor) holds(r io.ReaderAt, size int64) bool {
	if a.End > size || a.End < int64(a.Len) {
		return false
	}
	buf := make([]byte, a.Len)
	if _, err := r.ReadAt(buf, a.End-int64(a.Len)); err != nil {
		return false
	}
	return crc32.Checksum(buf, castagnoli) == a.CRC
}

// atLineStart reports whether off, where the file was read up to, is still where a line
// starts: after a newline or a NUL, or at a NUL run. The newest anchor at or before off
// may lie a few lines back (thinned): a cut between the two is then still noticed, unless
// the new content happens to have a line boundary at off too.
func atLineStart(r io.ReaderAt, off, size int64) bool {
	if off == 0 {
		return true
	}
	var b [2]byte
	n, _ := r.ReadAt(b[:min(2, size-off+1)], off-1)
	return n > 0 && (b[0] == '\n' || b[0] == 0 || (n > 1 && b[1] == 0))
}

// resumePoint decides where to read a plain file of size bytes whose first bytes still
// match, given its read offset and the anchors taken before it. intact is set when
// nothing before off changed (the newest anchor at or before off holds and the file is
// at least off long); else resume is the newest anchor that holds, or 0 when none does,
// or, with no anchors at all, size when the file is shorter than off (the cut point, if
// nothing was appended yet) and off otherwise (nothing can be told).
func resumePoint(as []anchor, off, size int64, r io.ReaderAt) (resume int64, intact bool) {
	as = anchorsUpTo(as, off)
	if len(as) == 0 {
		if size < off {
			return size, false
		}
		return off, true
	}
	if size >= off && as[len(as)-1].holds(r, size) && atLineStart(r, off, size) {
		return off, true
	}
	for i := len(as) - 1; i >= 0; i-- {
		if as[i].holds(r, size) {
			return as[i].End, false
		}
	}
	return 0, false
}
