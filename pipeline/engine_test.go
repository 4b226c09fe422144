package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memInput yields batches of events with ids "b<batch>-<i>" and records acks.
type memInput struct {
	mu      sync.Mutex
	batches []Batch
	next    int
	acks    map[int]error
	block   bool // after the batches, block until ctx ends instead of ErrEndOfInput
	closed  bool
}

func newMemInput(nBatches, perBatch int) *memInput {
	in := &memInput{acks: map[int]error{}}
	for b := range nBatches {
		var batch Batch
		for i := range perBatch {
			id := fmt.Sprintf("b%d-%d", b, i)
			raw := []byte(fmt.Sprintf(`{"auditID":%q,"verb":"get"}`, id))
			batch = append(batch, NewEvent(raw, map[string]any{"auditID": id, "verb": "get"}, SourceAudit))
		}
		in.batches = append(in.batches, batch)
	}
	return in
}

func (m *memInput) Read(ctx context.Context) (Batch, AckFunc, error) {
	m.mu.Lock()
	if m.next >= len(m.batches) {
		m.mu.Unlock()
		if m.block {
			<-ctx.Done()
			return nil, nil, ctx.Err()
		}
		return nil, nil, ErrEndOfInput
	}
	i := m.next
	m.next++
	b := m.batches[i]
	m.mu.Unlock()
	return b, func(err error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if _, dup := m.acks[i]; dup {
			panic(fmt.Sprintf("batch %d acked twice", i))
		}
		m.acks[i] = err
	}, nil
}

func (m *memInput) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

func (m *memInput) ackState() (ok, failed int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, err := range m.acks {
		if err == nil {
			ok++
		} else {
			failed++
		}
	}
	return
}

// memOutput records delivered ids; fail decides per call what to return.
type memOutput struct {
	mu    sync.Mutex
	got   map[string]int
	calls int
	fail  func(call int, b Batch) error
	delay time.Duration
}

func newMemOutput() *memOutput { return &memOutput{got: map[string]int{}} }

func (o *memOutput) Write(ctx context.Context, b Batch) error {
	if o.delay > 0 {
		select {
		case <-time.After(o.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	var err error
	if o.fail != nil {
		err = o.fail(o.calls, b)
	}
	var be *BatchError
	isBatchErr := errors.As(err, &be)
	if err != nil && !isBatchErr {
		return err
	}
	for i, ev := range b {
		if isBatchErr {
			if _, bad := be.Failed[i]; bad {
				continue
			}
		}
		o.got[ev.Fields()["auditID"].(string)]++
	}
	return err
}

func (o *memOutput) Close(context.Context) error { return nil }

func (o *memOutput) delivered() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(o.got))
	for k, v := range o.got {
		out[k] = v
	}
	return out
}

func fastOpts() OutputOptions {
	return OutputOptions{
		Batch:        BatchPolicy{MaxEvents: 7, MaxBytes: 1 << 20, FlushInterval: 10 * time.Millisecond},
		Concurrency:  2,
		RetryInitial: time.Millisecond,
		RetryMax:     5 * time.Millisecond,
	}
}

func dropWhere(pred func(id string) bool) Filter {
	return FilterFunc(func(ev *Event) (bool, error) {
		return !pred(ev.Fields()["auditID"].(string)), nil
	})
}

func TestEngineDeliversEverythingOnceAndAcks(t *testing.T) {
	in := newMemInput(20, 5)
	a, b := newMemOutput(), newMemOutput()
	// b fails every third call entirely and, on other calls, the first item of the batch.
	b.fail = func(call int, batch Batch) error {
		if call%3 == 0 {
			return errors.New("outage")
		}
		if len(batch) > 1 {
			return &BatchError{Failed: map[int]error{0: errors.New("item rejected")}}
		}
		return nil
	}
	e := New(Config{
		Inputs:  []InputSpec{{Name: "in", Input: in}},
		Filters: Chain{{Name: "drop-b0", Filter: dropWhere(func(id string) bool { return id[:3] == "b0-" })}},
		Outputs: []OutputSpec{
			{Name: "a", Output: a, Options: fastOpts()},
			{Name: "b", Output: b, Options: fastOpts(), Filters: Chain{{Name: "only-even-batches", Filter: dropWhere(func(id string) bool { return id[1]%2 == 1 })}}},
		},
	})
	if err := e.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	ok, failed := in.ackState()
	if ok != 20 || failed != 0 {
		t.Fatalf("acks ok=%d failed=%d, want 20/0", ok, failed)
	}
	if !in.closed {
		t.Fatal("input not closed")
	}
	ga, gb := a.delivered(), b.delivered()
	if len(ga) != 95 {
		t.Errorf("output a got %d distinct events, want 95 (batch 0 dropped)", len(ga))
	}
	for id, n := range ga {
		if n != 1 {
			t.Errorf("a: %s delivered %d times", id, n)
		}
	}
	for id, n := range gb {
		if n != 1 {
			t.Errorf("b: %s delivered %d times (a partial failure must retry only failed items)", id, n)
		}
		if id[1]%2 == 1 {
			t.Errorf("b: %s should have been dropped by its own filter", id)
		}
	}
	if len(gb) == 0 {
		t.Error("b got nothing")
	}
}

func TestEngineAckWaitsForEveryOutput(t *testing.T) {
	in := newMemInput(1, 3)
	in.block = true
	fast := newMemOutput()
	stuck := newMemOutput()
	stuck.fail = func(int, Batch) error { return errors.New("down") }
	e := New(Config{
		Inputs:       []InputSpec{{Name: "in", Input: in}},
		Outputs:      []OutputSpec{{Name: "fast", Output: fast, Options: fastOpts()}, {Name: "stuck", Output: stuck, Options: fastOpts()}},
		DrainTimeout: 100 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx, false) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(fast.delivered()) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if ok, _ := in.ackState(); ok != 0 {
		t.Fatal("batch acked although one output has not delivered it")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ok, failed := in.ackState()
	if ok != 0 || failed != 1 {
		t.Fatalf("after shutdown: ok=%d failed=%d, want the batch nacked", ok, failed)
	}
}

func TestEngineAllDroppedIsAcked(t *testing.T) {
	in := newMemInput(3, 4)
	out := newMemOutput()
	e := New(Config{
		Inputs:  []InputSpec{{Name: "in", Input: in}},
		Filters: Chain{{Name: "all", Filter: dropWhere(func(string) bool { return true })}},
		Outputs: []OutputSpec{{Name: "o", Output: out, Options: fastOpts()}},
	})
	if err := e.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if ok, _ := in.ackState(); ok != 3 {
		t.Fatalf("acked %d batches, want 3", ok)
	}
	if len(out.delivered()) != 0 {
		t.Fatal("dropped events were delivered")
	}
}

func TestEngineFilterErrorFailsClosed(t *testing.T) {
	in := newMemInput(1, 4)
	out := newMemOutput()
	boom := FilterFunc(func(ev *Event) (bool, error) {
		if ev.Fields()["auditID"] == "b0-2" {
			return true, errors.New("cannot redact")
		}
		return true, nil
	})
	var failed atomic.Int32
	obs := &countObs{failed: &failed}
	e := New(Config{
		Inputs:   []InputSpec{{Name: "in", Input: in}},
		Filters:  Chain{{Name: "redact", Filter: boom}},
		Outputs:  []OutputSpec{{Name: "o", Output: out, Options: fastOpts()}},
		Observer: obs,
	})
	if err := e.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	got := out.delivered()
	if _, shipped := got["b0-2"]; shipped || len(got) != 3 {
		t.Fatalf("delivered %v: the event the filter failed on must not ship", got)
	}
	if failed.Load() != 1 {
		t.Fatalf("filter failures counted %d, want 1", failed.Load())
	}
}

type countObs struct {
	NopObserver
	failed *atomic.Int32
}

func (c *countObs) FilterFailed(string, error) { c.failed.Add(1) }

// TestEngineBackpressure: with the output down, the engine stops reading after a few
// batches instead of buffering the whole input.
func TestEngineBackpressure(t *testing.T) {
	in := newMemInput(1000, 10)
	out := newMemOutput()
	out.fail = func(int, Batch) error { return errors.New("down") }
	opts := fastOpts()
	opts.Batch.MaxEvents = 10
	e := New(Config{
		Inputs:       []InputSpec{{Name: "in", Input: in}},
		Outputs:      []OutputSpec{{Name: "o", Output: out, Options: opts}},
		DrainTimeout: 50 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx, false) }()
	time.Sleep(300 * time.Millisecond)
	in.mu.Lock()
	read := in.next
	in.mu.Unlock()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if read > 20 {
		t.Fatalf("read %d batches while the output was down; want a small bounded number", read)
	}
}

func TestEngineNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 5 {
		in := newMemInput(5, 5)
		e := New(Config{
			Inputs:  []InputSpec{{Name: "in", Input: in}},
			Outputs: []OutputSpec{{Name: "o", Output: newMemOutput(), Options: fastOpts()}},
		})
		if err := e.Run(context.Background(), true); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("goroutines: %d before, %d after", before, n)
	}
}

type retryAfterErr struct{ d time.Duration }

func (r retryAfterErr) Error() string             { return "429" }
func (r retryAfterErr) RetryAfter() time.Duration { return r.d }

func TestDeliverHonoursRetryAfterAndPermanent(t *testing.T) {
	out := newMemOutput()
	out.fail = func(call int, _ Batch) error {
		if call == 1 {
			return retryAfterErr{d: 80 * time.Millisecond}
		}
		return nil
	}
	r := newOutputRunner(OutputSpec{Name: "o", Output: out, Options: fastOpts()}, nil, NopObserver{})
	r.log = New(Config{}).log
	b := newMemInput(1, 2).batches[0]
	start := time.Now()
	if err := r.deliver(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 80*time.Millisecond {
		t.Fatalf("retried after %v, before the server's Retry-After", waited)
	}
	perm := newMemOutput()
	perm.fail = func(int, Batch) error { return Permanent(errors.New("bad")) }
	r = newOutputRunner(OutputSpec{Name: "p", Output: perm, Options: fastOpts()}, New(Config{}).log, NopObserver{})
	if err := r.deliver(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if perm.calls != 1 {
		t.Fatalf("permanent error retried: %d calls", perm.calls)
	}
}

// TestOnceReportsUndelivered: a --once run stopped before it could deliver everything
// returns an error instead of looking like a finished backfill.
func TestOnceReportsUndelivered(t *testing.T) {
	in := newMemInput(2, 2)
	out := newMemOutput()
	out.fail = func(int, Batch) error { return errors.New("down") }
	e := New(Config{
		Inputs:       []InputSpec{{Name: "in", Input: in}},
		Outputs:      []OutputSpec{{Name: "o", Output: out, Options: fastOpts()}},
		DrainTimeout: 50 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, true) }()
	time.Sleep(100 * time.Millisecond) // let it retry a few times
	cancel()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "2 batches were not delivered") {
		t.Fatalf("Run = %v, want 2 undelivered batches reported", err)
	}
}

// inputRecorder records, per auditID, the input name each delivered event carried.
type inputRecorder struct {
	mu  sync.Mutex
	got map[string]string
}

func (o *inputRecorder) Write(_ context.Context, b Batch) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, ev := range b {
		o.got[ev.Fields()["auditID"].(string)] = ev.Input
	}
	return nil
}

func (o *inputRecorder) Close(context.Context) error { return nil }

// TestEngineMarksEventsWithTheirInput: every event reaching an output carries the name of
// the input it was read from, with two inputs, through an output with its own filters
// (which sees clones) and one without.
func TestEngineMarksEventsWithTheirInput(t *testing.T) {
	named := func(prefix string) *memInput {
		in := newMemInput(3, 4)
		for _, batch := range in.batches {
			for i, ev := range batch {
				id := prefix + "-" + ev.Fields()["auditID"].(string)
				batch[i] = NewEvent([]byte(fmt.Sprintf(`{"auditID":%q}`, id)), map[string]any{"auditID": id}, SourceAudit)
			}
		}
		return in
	}
	apiserver, webhook := named("api"), named("kar")
	plain, filtered := &inputRecorder{got: map[string]string{}}, &inputRecorder{got: map[string]string{}}
	keepAll := FilterFunc(func(*Event) (bool, error) { return true, nil })
	e := New(Config{
		Inputs: []InputSpec{{Name: "apiserver-log", Input: apiserver}, {Name: "kube-audit-rest", Input: webhook}},
		Outputs: []OutputSpec{
			{Name: "plain", Output: plain, Options: fastOpts()},
			{Name: "filtered", Output: filtered, Options: fastOpts(), Filters: Chain{{Name: "all", Filter: keepAll}}},
		},
	})
	if err := e.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	for _, out := range []*inputRecorder{plain, filtered} {
		if len(out.got) != 24 {
			t.Errorf("%d events delivered, want 24", len(out.got))
		}
		for id, input := range out.got {
			want := map[string]string{"api": "apiserver-log", "kar": "kube-audit-rest"}[id[:3]]
			if input != want {
				t.Errorf("event %s carries input %q, want %q", id, input, want)
			}
		}
	}
}

// TestMisconfiguredOutput: an output that learnt its configuration contradicts its
// destination (Misconfigured) ends a --once run with the reason and nothing acked — not
// delivered, so not lost: the checkpoints stay before the batches — while a daemon keeps
// retrying (the destination can be fixed) and acks once the output works.
func TestMisconfiguredOutput(t *testing.T) {
	reason := errors.New("compatibility is elasticsearch, but the node is OpenSearch 2.19.0")
	for _, once := range []bool{true, false} {
		t.Run(fmt.Sprintf("once=%v", once), func(t *testing.T) {
			in := newMemInput(3, 2)
			in.block = !once
			out := newMemOutput()
			var fixed atomic.Bool
			out.fail = func(int, Batch) error {
				if fixed.Load() {
					return nil
				}
				return Misconfigured(reason)
			}
			e := New(Config{
				Inputs:       []InputSpec{{Name: "in", Input: in}},
				Outputs:      []OutputSpec{{Name: "es", Output: out, Options: fastOpts()}},
				DrainTimeout: time.Second,
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- e.Run(ctx, once) }()
			if once {
				err := <-done
				if err == nil || !strings.Contains(err.Error(), "output es is misconfigured: "+reason.Error()) {
					t.Fatalf("Run = %v, want the misconfiguration named", err)
				}
				if ok, _ := in.ackState(); ok != 0 {
					t.Errorf("%d batches acked, want none", ok)
				}
				if len(out.delivered()) != 0 {
					t.Errorf("delivered %v", out.delivered())
				}
				return
			}
			// Daemon: still retrying after many attempts, nothing acked meanwhile.
			for {
				out.mu.Lock()
				calls := out.calls
				out.mu.Unlock()
				if calls >= 5 {
					break
				}
				select {
				case err := <-done:
					t.Fatalf("daemon Run ended: %v", err)
				case <-time.After(10 * time.Millisecond):
				}
			}
			if ok, failed := in.ackState(); ok+failed != 0 {
				t.Fatalf("acked %d ok, %d failed while misconfigured", ok, failed)
			}
			fixed.Store(true) // the cluster was upgraded, say
			for {
				if ok, _ := in.ackState(); ok == 3 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run = %v", err)
			}
			if n := len(out.delivered()); n != 6 {
				t.Errorf("delivered %d events, want 6", n)
			}
		})
	}
}
