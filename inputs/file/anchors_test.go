package file

import (
	"bytes"
	"strings"
	"testing"
)

// anchorsOf takes an anchor at every line end of content, as the reader does.
func anchorsOf(content string) []anchor {
	var as []anchor
	off := int64(0)
	for _, l := range strings.SplitAfter(content, "\n") {
		if !strings.HasSuffix(l, "\n") {
			break
		}
		off += int64(len(l))
		as = addAnchor(as, lineAnchor([]byte(strings.TrimSuffix(l, "\n")), 1, off))
	}
	return as
}

func TestResumePoint(t *testing.T) {
	old := lines("a", 0, 20)
	lineLen := int64(len(auditLine("a-000000")))
	as := anchorsOf(old)
	tests := []struct {
		name       string
		anchors    []anchor
		off        int64
		now        string
		wantResume int64
		wantIntact bool
	}{
		{"unchanged", as, int64(len(old)), old, int64(len(old)), true},
		{"grown", as, int64(len(old)), old + lines("a", 20, 25), int64(len(old)), true},
		{"cut at a line end, nothing appended", as, int64(len(old)), lines("a", 0, 12), 12 * lineLen, false},
		{"cut, then appended past the offset", as, int64(len(old)), lines("a", 0, 12) + lines("b", 0, 30), 12 * lineLen, false},
		{"cut mid-line, then appended", as, int64(len(old)), lines("a", 0, 12)[:12*lineLen-40] + lines("b", 0, 30), 11 * lineLen, false},
		{"rewritten from the first line on", as, int64(len(old)), lines("b", 0, 40), 0, false},
		{"offset before the cut", as, 5 * lineLen, lines("a", 0, 12) + lines("b", 0, 30), 5 * lineLen, true},
		{"cut between the newest anchor and the offset", as[:len(as)-3], int64(len(old)), lines("a", 0, 18) + lines("bb", 0, 30), 17 * lineLen, false},
		{"newest anchor before the offset, unchanged", as[:len(as)-3], int64(len(old)), old, int64(len(old)), true},
		{"no anchors, shorter", nil, int64(len(old)), lines("a", 0, 12), 12 * lineLen, false},
		{"no anchors, longer: cannot tell", nil, int64(len(old)), lines("a", 0, 12) + lines("b", 0, 30), int64(len(old)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resume, intact := resumePoint(tt.anchors, tt.off, int64(len(tt.now)), bytes.NewReader([]byte(tt.now)))
			if resume != tt.wantResume || intact != tt.wantIntact {
				t.Fatalf("resume %d intact %v, want %d %v", resume, intact, tt.wantResume, tt.wantIntact)
			}
		})
	}
}

// Thinning keeps maxAnchors, the newest always, with gaps that grow going back: a cut
// near the end is found to within a few lines, one far back to within a fraction of its
// distance.
func TestAnchorThinning(t *testing.T) {
	const n = 100000
	var as []anchor
	for i := int64(1); i <= n; i++ {
		as = addAnchor(as, anchor{End: i * 100})
	}
	if len(as) != maxAnchors || as[len(as)-1].End != n*100 {
		t.Fatalf("%d anchors, newest at %d", len(as), as[len(as)-1].End)
	}
	head := as[len(as)-1].End
	for j := 1; j < len(as); j++ {
		gap, dist := as[j].End-as[j-1].End, head-as[j].End
		if gap > 100 && float64(gap) > 0.35*float64(dist) {
			t.Fatalf("anchor %d: gap %d at distance %d", j, gap, dist)
		}
	}
	if as[0].End > head/100 {
		t.Fatalf("oldest anchor at %d of %d: the start of the file is not covered", as[0].End, head)
	}
}
