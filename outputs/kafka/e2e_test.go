package kafka

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// buildAgent compiles cmd/auditship into a temporary directory.
func buildAgent(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "auditship")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/auditship")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/auditship: %v\n%s", err, out)
	}
	return bin
}

// collector reads the topic from the start for as long as the test runs.
type collector struct {
	mu   sync.Mutex
	recs []*kgo.Record
	keys map[string]bool
}

func collect(t *testing.T, brokers []string) *collector {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{keys: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			f := cl.PollFetches(ctx)
			c.mu.Lock()
			f.EachRecord(func(r *kgo.Record) {
				c.recs = append(c.recs, r)
				c.keys[string(r.Key)] = true
			})
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		cl.Close()
	})
	return c
}

func (c *collector) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.keys)
}

// TestAgentKilledAndRestarted runs the real binary (file input into this output) against
// kfake, SIGKILLs it mid-stream, runs it again, and reads the topic back: every event at
// least once, each partition in the order the events were read.
func TestAgentKilledAndRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the agent binary")
	}
	bin := buildAgent(t)
	c := startCluster(t)
	brokers := c.ListenAddrs()
	events := corpus(t, 1500)

	dir := t.TempDir()
	var log bytes.Buffer
	for _, ev := range events {
		log.Write(ev.Raw())
		log.WriteByte('\n')
	}
	logPath := filepath.Join(dir, "audit.log")
	if err := os.WriteFile(logPath, log.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "auditship.yaml")
	cfgText := fmt.Sprintf(`data_dir: %s
log_level: warn
http:
  listen: ""
inputs:
  apiserver:
    type: file
    paths: [%q]
    format: audit
    start_at: beginning
outputs:
  kafka:
    type: kafka
    brokers: [%s]
    topic: %s
    batch_max_events: 50
    flush_interval: 20ms
    linger: 20ms
    retry_max_backoff: 500ms
`, filepath.Join(dir, "state"), logPath, strings.Join(brokers, ", "), topic)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "validate", "-c", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	col := collect(t, brokers)

	var stderr1 bytes.Buffer
	first := exec.Command(bin, "run", "--once", "-c", cfgPath)
	first.Stderr = &stderr1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	killed := false
wait:
	for {
		select {
		case err := <-exited:
			t.Logf("first run ended before the kill (%v)", err)
			break wait
		case <-ctx.Done():
			t.Fatalf("first run made no progress\n%s", stderr1.String())
		case <-time.After(10 * time.Millisecond):
			if col.distinct() >= len(events)/3 {
				if err := first.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				<-exited
				killed = true
				break wait
			}
		}
	}
	t.Logf("first run killed=%v with %d events produced", killed, col.distinct())

	var stderr2 bytes.Buffer
	second := exec.CommandContext(ctx, bin, "run", "--once", "-c", cfgPath)
	second.Stderr = &stderr2
	if err := second.Run(); err != nil {
		t.Fatalf("second run: %v\n%s", err, stderr2.String())
	}
	for col.distinct() < len(events) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	col.mu.Lock()
	recs := append([]*kgo.Record(nil), col.recs...)
	col.mu.Unlock()
	t.Logf("%d records for %d events", len(recs), len(events))
	checkAtLeastOnceInOrder(t, events, recs)
	// The binary wires the configured input's name through the engine to the header.
	for _, r := range recs {
		var in []string
		for _, h := range r.Headers {
			if h.Key == "input" {
				in = append(in, string(h.Value))
			}
		}
		if len(in) != 1 || in[0] != "apiserver" {
			t.Fatalf("record at offset %d has input headers %q, want [apiserver] (headers %v)", r.Offset, in, r.Headers)
		}
	}
}
