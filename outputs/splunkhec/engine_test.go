package splunkhec

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/testing/hectest"
	"github.com/auditship/auditship/internal/testing/meminput"
	"github.com/auditship/auditship/pipeline"
)

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
			in := meminput.New(events, 50)
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
			if err := in.Check(); err != nil {
				t.Fatal(err)
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
