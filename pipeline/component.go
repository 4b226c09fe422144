package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrEndOfInput is returned by Input.Read when every file has been read to its end and the
// input was asked to stop there (run --once).
var ErrEndOfInput = errors.New("end of input")

// AckFunc reports the fate of a batch to the input that produced it: nil when every event
// was delivered or deliberately dropped, an error when it was not (the input must then not
// advance its checkpoint past the batch). It is called exactly once per batch.
type AckFunc func(err error)

// Input produces batches of events. Read blocks until a batch is ready, the context ends,
// or (in once mode) the input is exhausted, then returns ErrEndOfInput.
type Input interface {
	Read(ctx context.Context) (Batch, AckFunc, error)
	// Close persists the final checkpoint and releases files. It is called after every
	// batch the input produced has been acked or abandoned.
	Close() error
}

// Filter decides, for one event, whether it goes on; it may change the event through
// MutableFields. An error means the event could not be processed: the engine drops it,
// counts it as invalid and never ships it as-is (fail-closed).
type Filter interface {
	Apply(ev *Event) (keep bool, err error)
}

// FilterFunc adapts a function to Filter.
type FilterFunc func(ev *Event) (bool, error)

// Apply calls f.
func (f FilterFunc) Apply(ev *Event) (bool, error) { return f(ev) }

// Output delivers a batch. Write returns nil when every event is durably delivered; a
// *BatchError when only some items failed; an error wrapped with Permanent (Reject, with
// what the destination said) when retrying cannot help, for the batch or, in a
// *BatchError, for an item: the engine writes those to the output's dead-letter file
// (DeadLetters). Any other error is retried with backoff by the engine.
type Output interface {
	Write(ctx context.Context, b Batch) error
	// Close flushes and releases resources; no Write follows it.
	Close(ctx context.Context) error
}

// ReadyChecker is implemented by outputs that can tell whether their destination is
// reachable, and by inputs that can tell whether they can take events (a webhook
// listener serving, its spool not full), for /readyz.
type ReadyChecker interface {
	Ready(ctx context.Context) error
}

// BatchPolicy says when the engine hands an output what it accumulated.
type BatchPolicy struct {
	MaxEvents     int
	MaxBytes      int
	FlushInterval time.Duration
}

// OutputOptions is how the engine drives one output.
type OutputOptions struct {
	Batch BatchPolicy
	// Concurrency is how many Write calls may run at once.
	Concurrency int
	// RetryInitial and RetryMax bound the exponential backoff between attempts.
	RetryInitial time.Duration
	RetryMax     time.Duration
	// DeadLetterPath is the file the events the output rejects for good are written to
	// (see DeadLetters); empty: none, they are counted, logged and dropped.
	DeadLetterPath string
}

// DefaultOutputOptions suits a local sink.
func DefaultOutputOptions() OutputOptions {
	return OutputOptions{
		Batch:        BatchPolicy{MaxEvents: 4096, MaxBytes: 4 << 20, FlushInterval: time.Second},
		Concurrency:  1,
		RetryInitial: 100 * time.Millisecond,
		RetryMax:     30 * time.Second,
	}
}

// BatchError says which items of a batch failed; the others were delivered. The engine
// retries only the failed ones.
type BatchError struct {
	Failed map[int]error
}

func (e *BatchError) Error() string {
	for _, err := range e.Failed {
		return fmt.Sprintf("%d of the batch's events failed, e.g.: %v", len(e.Failed), err)
	}
	return "batch failed"
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as one that retrying cannot fix.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

type misconfiguredError struct{ err error }

func (m misconfiguredError) Error() string { return m.err.Error() }
func (m misconfiguredError) Unwrap() error { return m.err }

// Misconfigured marks err as a contradiction between the output's configuration and what
// it writes to, learnt for certain from the destination (an Elasticsearch output set to
// `compatibility: elasticsearch` that reached an OpenSearch node). Unlike Permanent the
// batch is not delivered and not acknowledged, so nothing is lost: a --once run stops
// reading and ends with the error (its checkpoints stay before the batch); a daemon
// logs it at ERROR and keeps retrying, since the destination or the config can be fixed.
func Misconfigured(err error) error {
	if err == nil {
		return nil
	}
	return misconfiguredError{err}
}

// IsMisconfigured reports whether err was marked with Misconfigured.
func IsMisconfigured(err error) bool {
	var m misconfiguredError
	return errors.As(err, &m)
}

// RetryAfter is implemented by errors that carry the server's requested delay (HTTP 429
// Retry-After); the engine waits at least that long before the next attempt.
type RetryAfter interface {
	RetryAfter() time.Duration
}
