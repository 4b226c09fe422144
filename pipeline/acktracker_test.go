package pipeline

import (
	"math/rand/v2"
	"testing"
)

func TestAckTrackerOutOfOrder(t *testing.T) {
	tests := []struct {
		name  string
		ends  []int64
		order []int   // ack order, by batch index
		want  []int64 // watermark after each ack
	}{
		{"in order", []int64{10, 20, 30}, []int{0, 1, 2}, []int64{10, 20, 30}},
		{"reverse", []int64{10, 20, 30}, []int{2, 1, 0}, []int64{0, 0, 30}},
		{"middle first", []int64{10, 20, 30}, []int{1, 0, 2}, []int64{0, 20, 30}},
		{"gap held", []int64{10, 20, 30, 40}, []int{0, 2, 3, 1}, []int64{10, 10, 10, 40}},
		{"same offset (EventList items)", []int64{10, 10, 25}, []int{1, 0, 2}, []int64{0, 10, 25}},
		{"double ack ignored", []int64{10, 20}, []int{0, 0, 1}, []int64{10, 10, 20}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewAckTracker(0)
			seqs := make([]uint64, len(tc.ends))
			for i, e := range tc.ends {
				seqs[i] = tr.Track(e)
			}
			for i, idx := range tc.order {
				if got := tr.Ack(seqs[idx]); got != tc.want[i] {
					t.Fatalf("after ack %d (batch %d): watermark %d, want %d", i, idx, got, tc.want[i])
				}
			}
			if tr.Pending() != 0 {
				t.Fatalf("pending %d after all acks", tr.Pending())
			}
		})
	}
}

func TestAckTrackerStartsAtOffsetAndRandomOrder(t *testing.T) {
	tr := NewAckTracker(100)
	if tr.Watermark() != 100 {
		t.Fatalf("watermark %d, want 100", tr.Watermark())
	}
	const n = 1000
	seqs := make([]uint64, n)
	for i := range n {
		seqs[i] = tr.Track(int64(100 + (i+1)*10))
	}
	perm := rand.New(rand.NewPCG(1, 2)).Perm(n)
	maxAcked := -1
	acked := make([]bool, n)
	for _, i := range perm {
		acked[i] = true
		w := tr.Ack(seqs[i])
		// The watermark must be exactly the end of the longest acked prefix.
		for maxAcked+1 < n && acked[maxAcked+1] {
			maxAcked++
		}
		want := int64(100)
		if maxAcked >= 0 {
			want = int64(100 + (maxAcked+1)*10)
		}
		if w != want {
			t.Fatalf("watermark %d, want %d", w, want)
		}
	}
	// Tracking continues after the window moved on.
	s := tr.Track(100 + (n+1)*10)
	if w := tr.Ack(s); w != 100+(n+1)*10 {
		t.Fatalf("watermark %d after new batch", w)
	}
}
