package pipeline

import "sync"

// AckTracker turns acknowledgements that arrive in any order into a contiguous low
// watermark: the end offset of the last batch such that it and every batch before it were
// acknowledged. An input keeps one per file and checkpoints the watermark, so a restart
// never skips a batch that was still in flight.
type AckTracker struct {
	mu        sync.Mutex
	base      uint64 // sequence number of pending[0]
	pending   []ackEntry
	watermark int64
}

type ackEntry struct {
	end   int64
	acked bool
}

// NewAckTracker starts at offset, the position already known to be delivered.
func NewAckTracker(offset int64) *AckTracker {
	return &AckTracker{watermark: offset}
}

// Track registers a batch ending at end (offsets must not decrease) and returns its ticket.
func (t *AckTracker) Track(end int64) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	seq := t.base + uint64(len(t.pending))
	t.pending = append(t.pending, ackEntry{end: end})
	return seq
}

// Ack marks the batch acknowledged and returns the watermark after it.
func (t *AckTracker) Ack(seq uint64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if seq < t.base || seq >= t.base+uint64(len(t.pending)) {
		return t.watermark
	}
	t.pending[seq-t.base].acked = true
	n := 0
	for n < len(t.pending) && t.pending[n].acked {
		t.watermark = t.pending[n].end
		n++
	}
	if n > 0 {
		// Shift rather than reslice so the backing array does not grow without bound.
		copy(t.pending, t.pending[n:])
		t.pending = t.pending[:len(t.pending)-n]
		t.base += uint64(n)
	}
	return t.watermark
}

// Watermark returns the offset up to which everything was acknowledged.
func (t *AckTracker) Watermark() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.watermark
}

// Pending returns how many tracked batches are not yet part of the watermark.
func (t *AckTracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}
