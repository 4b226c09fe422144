package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestReloadWhileOneOutputIsDown (issue 20 kind 4): an engine stops while output "down"
// cannot deliver, so every batch is left unacknowledged and is read again by the next
// engine. Sharing a Delivered set, the healthy output gets each event once in all; the
// output that was down gets each event once from the second engine.
func TestReloadWhileOneOutputIsDown(t *testing.T) {
	cases := []struct {
		name     string
		shared   bool
		retain   bool // the reload keeps the healthy output as it was
		downRuns int  // engines that stop while "down" is down
		wantFast int  // deliveries of each event by the healthy output over all engines
	}{
		{"shared set", true, true, 1, 1},
		{"three reloads while down", true, true, 3, 1},
		{"healthy output changed by the reload", true, false, 1, 2},
		{"no set (as before)", false, true, 1, 2},
		{"no set, three reloads (as before)", false, true, 3, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var d *Delivered
			if c.shared {
				d = NewDelivered()
			}
			fast, down := newMemOutput(), newMemOutput()
			for range c.downRuns {
				stopWhileDown(t, fast, down, d)
			}
			if c.shared && !c.retain {
				d.Retain(func(name string) bool { return name != "fast" })
			}

			down.fail = nil
			again := newMemInput(3, 5) // the same events, read again from the checkpoint
			e2 := New(Config{
				Inputs: []InputSpec{{Name: "in", Input: again}},
				Outputs: []OutputSpec{
					{Name: "fast", Output: fast, Options: fastOpts()},
					{Name: "down", Output: down, Options: downOpts()},
				},
				Delivered: d,
			})
			if err := e2.Run(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			if ok, _ := again.ackState(); ok != 3 {
				t.Fatalf("last engine acknowledged %d of 3 batches", ok)
			}
			for name, o := range map[string]*memOutput{"fast": fast, "down": down} {
				got := o.delivered()
				want := 1
				if name == "fast" {
					want = c.wantFast
				}
				if len(got) != 15 {
					t.Fatalf("%s delivered %d distinct events, want 15", name, len(got))
				}
				for id, n := range got {
					if n != want {
						t.Fatalf("%s delivered %s %d times, want %d", name, id, n, want)
					}
				}
			}
			if d != nil && d.Len() != 0 {
				t.Fatalf("%d events still remembered after they were read again", d.Len())
			}
		})
	}
}

// stopWhileDown runs an engine over 3 batches of 5 events until fast has them all and
// down was handed them all, then stops it while down still fails: every batch is left
// unacknowledged.
func stopWhileDown(t *testing.T, fast, down *memOutput, d *Delivered) {
	t.Helper()
	var mu sync.Mutex
	tried := map[string]bool{}
	down.fail = func(_ int, b Batch) error {
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range b {
			tried[ev.Fields()["auditID"].(string)] = true
		}
		return errors.New("down")
	}
	in := newMemInput(3, 5)
	in.block = true
	e := New(Config{
		Inputs: []InputSpec{{Name: "in", Input: in}},
		Outputs: []OutputSpec{
			{Name: "fast", Output: fast, Options: fastOpts()},
			{Name: "down", Output: down, Options: downOpts()},
		},
		DrainTimeout: 50 * time.Millisecond,
		Delivered:    d,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx, false) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(tried)
		mu.Unlock()
		if n == 15 && len(fast.delivered()) == 15 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ok, failed := in.ackState(); ok != 0 || failed != 3 {
		t.Fatalf("engine stopped while down: ok=%d failed=%d, want all 3 batches unacknowledged", ok, failed)
	}
}

// downOpts makes each 5-event batch one write of its own, all three retried at once, so
// a failing output is handed every event.
func downOpts() OutputOptions {
	o := fastOpts()
	o.Batch.MaxEvents, o.Concurrency = 5, 3
	return o
}

// TestDeliveredKnowsEventsByContent: two different requests that share a client-chosen
// auditID and the stage are two events; an event read again is the same one.
func TestDeliveredKnowsEventsByContent(t *testing.T) {
	read := func(line string) *Event {
		ev, err := NewRawEvent([]byte(line), SourceAudit)
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.Settle(); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	const (
		list = `{"auditID":"a","stage":"ResponseComplete","verb":"list","requestURI":"/api/v1/pods"}`
		crb  = `{"auditID":"a","stage":"ResponseComplete","verb":"create","requestURI":"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"}`
	)
	d := NewDelivered()
	d.record("out", Batch{read(list)})
	send, had := d.without("out", Batch{read(crb), read(list)})
	if len(send) != 1 || len(had) != 1 {
		t.Fatalf("send %d, had %d; want the create sent and the list known", len(send), len(had))
	}
	if v, _ := send[0].Field("verb").(string); v != "create" {
		t.Errorf("sent %q, want the create", v)
	}
	// A clone that an output's filter changed keeps the settled bytes it came from.
	c := read(crb).Clone()
	c.DeleteField("requestURI")
	d.record("out", Batch{c})
	if send, _ := d.without("out", Batch{read(crb)}); len(send) != 0 {
		t.Errorf("the create, delivered through a filter that changed it, is sent again")
	}
}
