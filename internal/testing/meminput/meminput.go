// Package meminput is an input for output tests: it hands out fixed batches of events
// to the real engine, then ErrEndOfInput, and records each batch's ack.
package meminput

import (
	"context"
	"fmt"
	"sync"

	"github.com/auditship/auditship/pipeline"
)

// Input hands out its batches in order.
type Input struct {
	mu      sync.Mutex
	batches []pipeline.Batch
	next    int
	acks    []error
	acked   int
	// OnRead, when set, is called before batch i is handed out (outside the lock), so
	// a test can break the destination mid-stream.
	OnRead func(i int)
}

// New splits events into batches of size.
func New(events pipeline.Batch, size int) *Input {
	in := &Input{}
	for b := events; len(b) > 0; {
		n := min(size, len(b))
		in.batches = append(in.batches, b[:n])
		b = b[n:]
	}
	in.acks = make([]error, len(in.batches))
	return in
}

// Read implements pipeline.Input.
func (in *Input) Read(context.Context) (pipeline.Batch, pipeline.AckFunc, error) {
	in.mu.Lock()
	i := in.next
	if i == len(in.batches) {
		in.mu.Unlock()
		return nil, nil, pipeline.ErrEndOfInput
	}
	in.next++
	in.mu.Unlock()
	if in.OnRead != nil {
		in.OnRead(i)
	}
	return in.batches[i], func(err error) {
		in.mu.Lock()
		defer in.mu.Unlock()
		in.acks[i] = err
		in.acked++
	}, nil
}

// Close implements pipeline.Input.
func (in *Input) Close() error { return nil }

// Check returns an error unless every batch was acked without error.
func (in *Input) Check() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.acked != len(in.batches) {
		return fmt.Errorf("%d of %d batches acked", in.acked, len(in.batches))
	}
	for i, err := range in.acks {
		if err != nil {
			return fmt.Errorf("batch %d acked with %w", i, err)
		}
	}
	return nil
}
