package splunkhec

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/testing/hectest"
	"github.com/auditship/auditship/pipeline"
)

// batchInput hands out fixed batches, then ErrEndOfInput, and records each ack.
type batchInput struct {
	mu      sync.Mutex
	batches []pipeline.Batch
	next    int
	acks    []error
	acked   int
}

func (in *batchInput) Read(context.Context) (pipeline.Batch, pipeline.AckFunc, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.next == len(in.batches) {
		return nil, nil, pipeline.ErrEndOfInput
	}
	i := in.next
	in.next++
	return in.batches[i], func(err error) {
		in.mu.Lock()
		defer in.mu.Unlock()
		in.acks[i] = err
		in.acked++
	}, nil
}

func (in *batchInput) Close() error { return nil }

// TestEngineThroughFaults runs the real engine over real audit events against a
// collector that is busy, throttles, loses acks and refuses events: every batch is
// acknowledged, every good event indexed at least once (exactly once where no ack was
// lost), every refused one dead-lettered once and never indexed.
func TestEngineThroughFaults(t *testing.T) {
	events := corpus(t, 600)
	for _, tc := range []struct {
		name  string
		ack   bool
		fault func(*hectest.Server)
		exact bool
	}{
		{"503 storm", false, func(s *hectest.Server) { s.Busy = 8 }, true},
		{"429 with Retry-After", false, func(s *hectest.Server) { s.TooMany, s.RetryAfter = 2, 1 }, true},
		{"503 storm with ack", true, func(s *hectest.Server) { s.Busy = 8 }, true},
		{"lost acks", true, func(s *hectest.Server) { s.LoseAcks = 3 }, false},
		{"refused events with ack", true, func(s *hectest.Server) {
			s.Reject = func(env []byte) bool { return json.Valid(env) && len(env)%13 == 0 }
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t)
			srv.Ack = tc.ack
			srv.Lock()
			tc.fault(srv)
			reject := srv.Reject
			srv.Unlock()
			out, cfg, _ := newOutput(t, srv.URL, func(c *Config) { c.Ack = tc.ack })
			in := &batchInput{}
			for b := events; len(b) > 0; {
				n := min(50, len(b))
				in.batches = append(in.batches, b[:n])
				b = b[n:]
			}
			in.acks = make([]error, len(in.batches))
			eng := pipeline.New(pipeline.Config{
				Inputs: []pipeline.InputSpec{{Name: "mem", Input: in}},
				Outputs: []pipeline.OutputSpec{{Name: "hec", Output: out, Options: pipeline.OutputOptions{
					Batch:        pipeline.BatchPolicy{MaxEvents: 100, MaxBytes: 1 << 20, FlushInterval: 20 * time.Millisecond},
					Concurrency:  2,
					RetryInitial: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
				}}},
				Logger:       hclog.NewNullLogger(),
				DrainTimeout: time.Minute,
			})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := eng.Run(ctx, true); err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("engine: %v", err)
			}
			if in.acked != len(in.batches) {
				t.Fatalf("%d of %d batches acked", in.acked, len(in.batches))
			}
			for i, err := range in.acks {
				if err != nil {
					t.Errorf("batch %d acked with %v", i, err)
				}
			}
			seen := map[string]int{}
			for _, e := range srv.Events() {
				seen[key(t, e.Event)]++
			}
			dead := map[string]int{}
			for _, d := range readDead(t, cfg.DeadLetterPath) {
				env, _ := json.Marshal(d["event"])
				var e struct{ Event json.RawMessage }
				_ = json.Unmarshal(env, &e)
				dead[key(t, e.Event)]++
			}
			rejected := 0
			for _, ev := range events {
				k := key(t, ev.Raw())
				env, _, err := out.enc.encode(nil, ev)
				if err != nil {
					t.Fatal(err)
				}
				if reject != nil && reject(env[:len(env)-1]) {
					rejected++
					if dead[k] != 1 || seen[k] != 0 {
						t.Errorf("refused %s: %d dead letters, indexed %d times; want 1 and 0", k, dead[k], seen[k])
					}
					continue
				}
				if seen[k] < 1 || (tc.exact && seen[k] != 1) {
					t.Errorf("%s indexed %d times", k, seen[k])
				}
			}
			if reject != nil && rejected == 0 {
				t.Error("no event was refused; the case proves nothing")
			}
			srv.Lock()
			left := srv.Busy + srv.TooMany + srv.LoseAcks
			srv.Unlock()
			if left != 0 {
				t.Errorf("%d faults never fired", left)
			}
		})
	}
}
