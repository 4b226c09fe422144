package analyze

import (
	"strings"
	"testing"
)

// A run of NUL bytes ends a line and is skipped, as the file input reads it: the events
// around it are counted (the agent ships them), the NULs are a group of their own, and
// the groups still add up to the input.
func TestNULRunsEndLines(t *testing.T) {
	e := ev("alice", "update", `{"resource":"configmaps","namespace":"prod"}`, "")
	nul := func(n int) string { return strings.Repeat("\x00", n) }
	tests := []struct {
		name         string
		in           string
		events, nuls int64
	}{
		{"before a line", nul(4096) + e + "\n", 1, 4096},
		{"after a line, before its newline", e + nul(10) + "\n" + e + "\n", 2, 11},
		{"between two events on one line", e + nul(3) + e + "\n", 2, 3},
		{"a line of NULs", e + "\n" + nul(100) + "\n" + e + "\n", 2, 101},
		{"at the end, no newline", e + "\n" + nul(7), 2 - 1, 8},
		{"one NUL inside an event", e[:20] + nul(1) + e[20:] + "\n", 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runLines(t, []byte(tc.in))
			var sum int64
			for _, g := range r.Groups {
				sum += g.Bytes
			}
			want := int64(len(tc.in))
			if !strings.HasSuffix(tc.in, "\n") {
				want++ // the last line counts a newline, as everywhere
			}
			if r.EventsIn != tc.events || r.NULBytes != tc.nuls || sum != want || r.BytesIn != want {
				t.Errorf("events %d, NUL bytes %d, groups add to %d of %d; want %d, %d, %d",
					r.EventsIn, r.NULBytes, sum, r.BytesIn, tc.events, tc.nuls, want)
			}
			if tc.events > 0 && r.Signals[SignalPersonWrite] != tc.events {
				t.Errorf("person-write %d, want %d", r.Signals[SignalPersonWrite], tc.events)
			}
		})
	}
}
