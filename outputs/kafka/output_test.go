package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/corpustest"
	"github.com/auditship/auditship/internal/deadletter"
	"github.com/auditship/auditship/internal/eventid"
	"github.com/auditship/auditship/pipeline"
)

const topic = "k8s-audit"

func startCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(3), kfake.SeedTopics(3, topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

type countingMetrics struct {
	config.NopMetrics
	mu   sync.Mutex
	dead int
}

func (m *countingMetrics) OutputDeadLettered(_ string, n int) {
	m.mu.Lock()
	m.dead += n
	m.mu.Unlock()
}

// testOutput is the output behind the engine's dead-letter step (pipeline.DeadLetters),
// as the engine runs it, so a test sees the dead letters it writes and counts.
type testOutput struct {
	*Output
	dl *pipeline.DeadLetters
}

func (o testOutput) Write(ctx context.Context, b pipeline.Batch) error { return o.dl.Write(ctx, b) }

func newOutput(t *testing.T, brokers []string, mod func(*Config)) (testOutput, *Config, *countingMetrics) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Brokers = brokers
	cfg.DeadLetterPath = filepath.Join(t.TempDir(), "dlq", "kafka.ndjson")
	cfg.DeliveryTimeout = 5 * time.Second
	if mod != nil {
		mod(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := &countingMetrics{}
	out, err := New(cfg, config.Settings{Name: "kafka", NodeName: "node-a", Logger: hclog.NewNullLogger(), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = out.Close(context.Background()) })
	dl := &pipeline.DeadLetters{Output: out, Name: "kafka", File: deadletter.New(cfg.DeadLetterPath), Observer: m}
	return testOutput{out, dl}, cfg, m
}

// corpus returns n real kube-apiserver audit events (the recorded corpus).
func corpus(t *testing.T, n int) pipeline.Batch {
	t.Helper()
	lines := corpustest.KubeAuditLines(t)
	if len(lines) < n {
		t.Fatalf("corpus has %d lines, want %d", len(lines), n)
	}
	b := make(pipeline.Batch, n)
	for i := range b {
		ev, err := pipeline.NewRawEvent(lines[i], pipeline.SourceAudit)
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		b[i] = ev
	}
	return b
}

// consume reads every record of topic from the start until want records arrived.
func consume(t *testing.T, brokers []string, topic string, want int, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records: %v", len(out), want, ctx.Err())
		}
		f.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// checkAtLeastOnceInOrder fails unless every event is a record at least once, keyed by
// its id, and each partition holds the events' first copies in the order they were read.
func checkAtLeastOnceInOrder(t *testing.T, events pipeline.Batch, recs []*kgo.Record) {
	t.Helper()
	seq := map[string]int{}
	for i, ev := range events {
		doc, _ := ev.AppendJSON(nil)
		id := eventid.Of(doc)
		seq[string(id[:])] = i
	}
	seen := map[string]bool{}
	last := map[int32]int{}
	for _, r := range recs {
		i, ok := seq[string(r.Key)]
		if !ok {
			t.Fatalf("record with unknown key %q", r.Key)
		}
		if string(r.Value) != string(events[i].Raw()) {
			t.Fatalf("record %d value differs from the event's bytes", i)
		}
		if seen[string(r.Key)] {
			continue // a replay: at least once
		}
		seen[string(r.Key)] = true
		if p, ok := last[r.Partition]; ok && i < p {
			t.Errorf("partition %d: event %d after event %d", r.Partition, i, p)
		}
		last[r.Partition] = i
	}
	if len(seen) != len(events) {
		t.Errorf("%d of %d events produced", len(seen), len(events))
	}
}

// TestRecords: value is the event's own bytes, key its id, headers source, agent and
// input (only for an event read from an input).
func TestRecords(t *testing.T) {
	for _, codec := range []string{"zstd", "lz4", "snappy", "gzip", "none"} {
		t.Run(codec, func(t *testing.T) {
			c := startCluster(t)
			out, _, _ := newOutput(t, c.ListenAddrs(), func(cfg *Config) { cfg.Compression = codec })
			b := corpus(t, 50)
			for _, ev := range b[:40] {
				ev.Input = "apiserver-log" // as the engine sets it; the last 10 came through no engine
			}
			kar, err := pipeline.NewRawEvent([]byte(`{"kind":"Event","auditID":"k","stage":"ResponseComplete","n":1.50}`), pipeline.SourceKubeAuditRest)
			if err != nil {
				t.Fatal(err)
			}
			kar.Input = "webhook"
			b = append(b, kar)
			inputOf := map[string]string{}
			for _, ev := range b {
				inputOf[string(ev.Raw())] = ev.Input
			}
			if err := out.Write(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			recs := consume(t, c.ListenAddrs(), topic, len(b))
			checkAtLeastOnceInOrder(t, b, recs)
			for _, r := range recs {
				h := map[string]string{}
				for _, x := range r.Headers {
					h[x.Key] = string(x.Value)
				}
				want := "kube-apiserver"
				if strings.Contains(string(r.Value), `"auditID":"k"`) {
					want = "kube-audit-rest"
				}
				if h["source"] != want || h["agent"] != "node-a" {
					t.Errorf("headers %v, want source %s agent node-a", h, want)
				}
				// The input header names the input; an event without one has no header.
				in, has := h["input"]
				if wantIn := inputOf[string(r.Value)]; in != wantIn || has != (wantIn != "") {
					t.Errorf("headers %v, want input %q", h, wantIn)
				}
			}
		})
	}
}

// TestTopicTemplate: the topic comes from the event; without the member, or with one
// that makes no valid topic name, the default topic.
func TestTopicTemplate(t *testing.T) {
	c := startCluster(t, kfake.SeedTopics(1, "audit-kube-system", "fallback"))
	out, _, _ := newOutput(t, c.ListenAddrs(), func(cfg *Config) {
		cfg.Topic, cfg.DefaultTopic = "audit-%{objectRef.namespace}", "fallback"
	})
	mk := func(s string) *pipeline.Event {
		ev, err := pipeline.NewRawEvent([]byte(s), pipeline.SourceAudit)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	b := pipeline.Batch{
		mk(`{"auditID":"1","objectRef":{"namespace":"kube-system"}}`),
		mk(`{"auditID":"2"}`),
		mk(`{"auditID":"3","objectRef":{"namespace":"a/b"}}`),
	}
	if err := out.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if n := len(consume(t, c.ListenAddrs(), "audit-kube-system", 1)); n != 1 {
		t.Errorf("%d records in audit-kube-system", n)
	}
	if n := len(consume(t, c.ListenAddrs(), "fallback", 2)); n != 2 {
		t.Errorf("%d records in fallback", n)
	}
}

// TestTooLargeDeadLettered: a record larger than max_message_bytes is refused for good:
// it goes to the dead-letter file and the rest of the batch is delivered.
func TestTooLargeDeadLettered(t *testing.T) {
	c := startCluster(t)
	out, cfg, m := newOutput(t, c.ListenAddrs(), func(cfg *Config) { cfg.MaxMessageBytes = 4096 })
	b := corpus(t, 20)
	big, err := pipeline.NewRawEvent([]byte(fmt.Sprintf(`{"auditID":"big","pad":%q}`, strings.Repeat("x", 8000))), pipeline.SourceAudit)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b[:10:10], append(pipeline.Batch{big}, b[10:]...)...)
	if err := out.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if m.dead != 1 {
		t.Errorf("%d dead-lettered, want 1", m.dead)
	}
	good := append(b[:10:10], b[11:]...)
	checkAtLeastOnceInOrder(t, good, consume(t, c.ListenAddrs(), topic, len(good)))
	dl := readDead(t, cfg.DeadLetterPath)
	if len(dl) != 1 || !strings.Contains(dl[0]["reason"].(string), "MESSAGE_TOO_LARGE") || dl[0]["topic"] != topic {
		t.Errorf("dead letters %v", dl)
	}
}

// TestSASL: each mechanism authenticates; a wrong password fails the write (retried,
// not dropped, not dead-lettered).
func TestSASL(t *testing.T) {
	for _, mech := range []string{MechPlain, MechScramSHA256, MechScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			c := startCluster(t, kfake.EnableSASL(), kfake.Superuser(mech, "agent", "s3cret"))
			b := corpus(t, 5)
			bad, _, m := newOutput(t, c.ListenAddrs(), func(cfg *Config) {
				cfg.SASL = SASLConfig{Mechanism: mech, Username: "agent", Password: "wrong"}
				cfg.DeliveryTimeout = time.Second
			})
			err := bad.Write(context.Background(), b)
			if err == nil || pipeline.IsPermanent(err) || m.dead != 0 {
				t.Fatalf("wrong password: Write = %v, %d dead-lettered; want a retried error", err, m.dead)
			}
			out, _, _ := newOutput(t, c.ListenAddrs(), func(cfg *Config) {
				cfg.SASL = SASLConfig{Mechanism: mech, Username: "agent", Password: "s3cret"}
			})
			if err := out.Write(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			checkAtLeastOnceInOrder(t, b, consume(t, c.ListenAddrs(), topic, len(b), kgo.SASL(saslMech(t, mech))))
		})
	}
}

func saslMech(t *testing.T, mech string) sasl.Mechanism {
	cfg := DefaultConfig()
	cfg.SASL = SASLConfig{Mechanism: mech, Username: "agent", Password: "s3cret"}
	m, err := mechanism(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readDead(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}
