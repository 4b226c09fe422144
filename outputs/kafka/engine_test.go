package kafka

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/auditship/auditship/internal/testing/meminput"
	"github.com/auditship/auditship/pipeline"
)

// TestEngineThroughBrokerFaults runs the real engine over real audit events while the
// cluster moves partition leaders, or loses a broker and gets it back: every batch is
// acknowledged, and reading the topic back finds every event at least once, each
// partition in the order the events were read.
func TestEngineThroughBrokerFaults(t *testing.T) {
	events := corpus(t, 1500)
	for _, tc := range []struct {
		name  string
		fault func(t *testing.T, c *kfake.Cluster, conns *connTracker, batch int)
	}{
		{"leader changes", func(t *testing.T, c *kfake.Cluster, conns *connTracker, i int) {
			if i%3 != 1 {
				return
			}
			for p := int32(0); p < 3; p++ {
				if err := c.MoveTopicPartition(topic, p, (c.LeaderFor(topic, p)+1)%3); err != nil {
					t.Error(err)
				}
			}
		}},
		{"elections", func(t *testing.T, c *kfake.Cluster, conns *connTracker, i int) {
			if i%2 == 0 {
				c.ShufflePartitionLeaders()
			}
		}},
		{"broker killed and restarted", func(t *testing.T, c *kfake.Cluster, conns *connTracker, i int) {
			switch i {
			case 5, 15:
				leader := c.LeaderFor(topic, 0)
				_, port, _ := net.SplitHostPort(c.ListenAddrs()[leader])
				if err := c.RemoveNode(leader); err != nil {
					t.Error(err)
				}
				// A killed broker's connections die with it; kfake closes only the
				// listener.
				conns.closeAll(port)
				time.Sleep(300 * time.Millisecond) // produce meets a dead broker
				// Back on its address; on a busy machine another process may take the
				// freed port meanwhile, and then the broker comes back on a new one
				// (clients learn it from the others' metadata).
				p, _ := strconv.Atoi(port)
				var err error
				for try := 0; try < 20; try++ {
					if _, _, err = c.AddNode(leader, p); err == nil {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if err != nil {
					t.Logf("port %d taken (%v): restarting broker %d on a new port", p, err, leader)
					if _, _, err := c.AddNode(leader, 0); err != nil {
						t.Error(err)
					}
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns := &connTracker{conns: map[string][]net.Conn{}}
			c := startCluster(t, kfake.ListenFn(conns.listen))
			brokers := c.ListenAddrs()
			out, cfg, m := newOutput(t, brokers, nil)
			in := meminput.New(events, 50)
			in.OnRead = func(i int) { tc.fault(t, c, conns, i) }
			opts := cfg.Delivery.Options()
			opts.RetryInitial, opts.RetryMax = 20*time.Millisecond, 300*time.Millisecond
			opts.Batch.FlushInterval = 20 * time.Millisecond
			opts.Batch.MaxEvents = 100
			eng := pipeline.New(pipeline.Config{
				Inputs:       []pipeline.InputSpec{{Name: "mem", Input: in}},
				Outputs:      []pipeline.OutputSpec{{Name: "kafka", Output: out, Options: opts}},
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
			if m.dead != 0 {
				t.Errorf("%d dead-lettered", m.dead)
			}
			checkAtLeastOnceInOrder(t, events, consume(t, brokers, topic, len(events)))
		})
	}
}

// connTracker records the connections each listener accepted, by port, so a test can
// close them as a broker's death would.
type connTracker struct {
	mu    sync.Mutex
	conns map[string][]net.Conn
}

func (ct *connTracker) listen(network, address string) (net.Listener, error) {
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return &trackedListener{Listener: ln, ct: ct}, nil
}

func (ct *connTracker) closeAll(port string) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	for _, c := range ct.conns[port] {
		_ = c.Close()
	}
	delete(ct.conns, port)
}

type trackedListener struct {
	net.Listener
	ct *connTracker
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.ct.mu.Lock()
	l.ct.conns[port] = append(l.ct.conns[port], c)
	l.ct.mu.Unlock()
	return c, nil
}
