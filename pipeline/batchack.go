package pipeline

import "sync"

// batchAck joins one input batch's acknowledgement across the outputs it was dispatched
// to: the input's ack runs once, when the last output's share is done, with the first
// error any share had (a batch is delivered only when every output delivered it). When
// it failed, the shares that were delivered are recorded (Delivered), so the re-read
// batch is not sent again to the outputs that already have it.
type batchAck struct {
	mu      sync.Mutex
	pending int
	err     error
	ack     AckFunc
	onDone  func(error)

	record *Delivered       // where shares delivered of an unacknowledged batch go
	shares []deliveredShare // shares delivered so far, when record is set
}

// deliveredShare is the part of a batch one output delivered.
type deliveredShare struct {
	output string
	events Batch
}

// delivered records that output delivered events (its share of the batch).
func (b *batchAck) delivered(output string, events Batch) {
	b.mu.Lock()
	b.shares = append(b.shares, deliveredShare{output, events})
	b.mu.Unlock()
}

// add counts one more output share to wait for.
func (b *batchAck) add() {
	b.mu.Lock()
	b.pending++
	b.mu.Unlock()
}

// done ends one output share with err (nil: delivered).
func (b *batchAck) done(err error) {
	b.mu.Lock()
	if err != nil && b.err == nil {
		b.err = err
	}
	b.pending--
	last := b.pending == 0
	b.mu.Unlock()
	if last && b.err != nil {
		// The batch will be read again: remember who has which of its events.
		for _, s := range b.shares {
			b.record.record(s.output, s.events)
		}
	}
	if last {
		b.ack(b.err)
		if b.onDone != nil {
			b.onDone(b.err)
		}
	}
}
