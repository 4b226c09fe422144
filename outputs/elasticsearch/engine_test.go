package elasticsearch

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/testing/estest"
	"github.com/auditship/auditship/pipeline"
)

// memInput hands out fixed batches and records their acks. After gateAfter batches it
// waits for gate to close, so a test can break the server while input is still flowing.
type memInput struct {
	batches   []pipeline.Batch
	gateAfter int
	gate      chan struct{}
	gated     chan struct{} // closed when Read reaches the gate

	mu   sync.Mutex
	next int
	acks map[int]error
	done int
}

func newMemInput(b pipeline.Batch, size int) *memInput {
	in := &memInput{acks: map[int]error{}, gateAfter: -1, gated: make(chan struct{})}
	for len(b) > 0 {
		n := min(size, len(b))
		in.batches = append(in.batches, b[:n])
		b = b[n:]
	}
	return in
}

func (in *memInput) Read(ctx context.Context) (pipeline.Batch, pipeline.AckFunc, error) {
	in.mu.Lock()
	i := in.next
	in.mu.Unlock()
	if i == in.gateAfter {
		close(in.gated)
		select {
		case <-in.gate:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.next >= len(in.batches) {
		return nil, nil, pipeline.ErrEndOfInput
	}
	in.next++
	return in.batches[i], func(err error) {
		in.mu.Lock()
		defer in.mu.Unlock()
		if _, dup := in.acks[i]; dup {
			panic("batch acked twice")
		}
		in.acks[i] = err
		in.done++
	}, nil
}

func (in *memInput) Close() error { return nil }

// checkAcked fails unless every batch was acked without error.
func (in *memInput) checkAcked(t *testing.T) {
	t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.done != len(in.batches) {
		t.Errorf("%d of %d batches acked", in.done, len(in.batches))
	}
	for i, err := range in.acks {
		if err != nil {
			t.Errorf("batch %d acked with error: %v", i, err)
		}
	}
}

// runEngine runs the real engine in once mode: it returns when everything was read
// and delivered.
func runEngine(t *testing.T, in pipeline.Input, out pipeline.Output, cfg *Config) {
	t.Helper()
	opts := Options(cfg)
	opts.RetryInitial, opts.RetryMax = 20*time.Millisecond, 300*time.Millisecond
	opts.Batch.FlushInterval = 20 * time.Millisecond
	opts.Batch.MaxEvents = 100
	eng := pipeline.New(pipeline.Config{
		Inputs:       []pipeline.InputSpec{{Name: "mem", Input: in}},
		Outputs:      []pipeline.OutputSpec{{Name: "es", Output: out, Options: opts}},
		Logger:       hclog.NewNullLogger(),
		DrainTimeout: 2 * time.Minute,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := eng.Run(ctx, true); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("engine: %v", err)
	}
}

// checkExactlyOnce fails unless every event is stored exactly once, except those the
// server rejects for good, which must be in the dead-letter file exactly once.
func checkExactlyOnce(t *testing.T, srv *estest.Server, cfg *Config, events pipeline.Batch) {
	t.Helper()
	writes := srv.Writes()
	dead := map[string]int{}
	for _, d := range readDeadLettersOrNone(t, cfg.DeadLetterPath) {
		dead[d.ID]++
	}
	rejected := 0
	for _, ev := range events {
		k := docKey(t, cfg, ev)
		index, id := splitKey(k)
		if srv.WouldReject400(index, id) {
			rejected++
			if dead[id] != 1 || writes[k] != 0 {
				t.Errorf("rejected %s: %d dead letters, %d writes; want 1 and 0", k, dead[id], writes[k])
			}
			continue
		}
		if writes[k] != 1 {
			t.Errorf("%s written %d times, want exactly once", k, writes[k])
		}
	}
	if got := srv.Count("k8s-audit-*"); got != len(events)-rejected {
		t.Errorf("count = %d, want %d", got, len(events)-rejected)
	}
	if len(dead) != rejected {
		t.Errorf("%d distinct dead letters, want %d", len(dead), rejected)
	}
}

func readDeadLettersOrNone(t *testing.T, path string) []deadLetter {
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	return readDeadLetters(t, path)
}

func TestEngineWithTenPercentFaults(t *testing.T) {
	srv := startServer(t, estest.Faults{
		RequestReject429Rate: 0.1, RetryAfter: time.Second,
		Item429Rate: 0.1, Item503Rate: 0.05, Item400Rate: 0.1,
		DropRate: 0.1, LostAnswerRate: 0.1,
		SlowRate: 0.1, SlowDelay: 50 * time.Millisecond,
	})
	out, cfg, _ := newTestOutput(t, srv.URL, nil)
	events := auditEvents(t, 2000)
	in := newMemInput(events, 37)
	runEngine(t, in, out, cfg)
	in.checkAcked(t)
	checkExactlyOnce(t, srv, cfg, events)
	st := srv.Stats()
	t.Logf("server: %+v", st)
	for name, n := range map[string]int{
		"whole-request 429": st.Rejected429, "item 429": st.Item429, "item 503": st.Item503,
		"item 400": st.Item400, "dropped": st.Dropped, "slowed": st.Slowed,
	} {
		if n == 0 {
			t.Errorf("fault %q never fired; the test proves nothing about it", name)
		}
	}
}

func TestEngineSurvivesOutage(t *testing.T) {
	srv := startServer(t, estest.Faults{Item400Rate: 0.05})
	out, cfg, _ := newTestOutput(t, srv.URL, nil)
	events := auditEvents(t, 2000)
	in := newMemInput(events, 25)
	in.gateAfter, in.gate = len(in.batches)/2, make(chan struct{})

	outage := make(chan struct{})
	go func() {
		defer close(outage)
		<-in.gated
		srv.Down()
		close(in.gate) // the rest is read, and retried, while the node is down
		time.Sleep(3 * time.Second)
		if err := srv.Up(); err != nil {
			t.Error(err)
		}
	}()
	runEngine(t, in, out, cfg)
	<-outage
	in.checkAcked(t)
	checkExactlyOnce(t, srv, cfg, events)
}

func TestReplayAfterLostAnswerCountsConflictsAsDelivered(t *testing.T) {
	srv := startServer(t, estest.Faults{LostAnswerRate: 1})
	out, cfg, _ := newTestOutput(t, srv.URL, nil)
	events := auditEvents(t, 50)
	if err := out.Write(context.Background(), events); err == nil {
		t.Fatal("a lost answer must fail the write")
	}
	srv.SetFaults(estest.Faults{})
	if err := out.Write(context.Background(), events); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if st := srv.Stats(); st.Conflicts != 50 {
		t.Errorf("conflicts %d, want 50 (every item was already stored)", st.Conflicts)
	}
	checkExactlyOnce(t, srv, cfg, events)
}
