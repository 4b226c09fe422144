package webhook

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// item is an audit Event as kube-apiserver's webhook backend posts it: no kind, no
// apiVersion; a number whose digits must survive.
func item(id string) string {
	return `{"level":"Metadata","auditID":"` + id + `","stage":"ResponseComplete","requestURI":"/api/v1/pods?limit=500","verb":"list","user":{"username":"admin"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-11-30T05:00:00.000000Z","stageTimestamp":"2026-11-30T05:00:00.001000Z","annotations":{"n":"1"},"requestObject":{"big":12345678901234567890.10}}`
}

func eventList(version string, ids ...string) string {
	its := make([]string, len(ids))
	for i, id := range ids {
		its[i] = item(id)
	}
	return `{"kind":"EventList","apiVersion":"` + version + `","metadata":{},"items":[` + strings.Join(its, ",") + `]}`
}

func idRange(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s-%06d", prefix, i))
	}
	return out
}

func gz(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func plainConfig(spool string) *Config {
	c := NewConfig()
	c.Listen = "127.0.0.1:0"
	c.AllowPlainHTTP = true
	c.SpoolDir = spool
	return c
}

// newInput creates an input on a fresh port; it is closed at the end of the test.
func newInput(t testing.TB, c *Config, dataDir string) *Input {
	t.Helper()
	in, err := New(c, config.Settings{Name: "hook", DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

// post answers one request through the handler, as the listener would.
func post(in *Input, body []byte, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/audit?timeout=30s", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	in.ServeHTTP(w, r)
	return w
}

// drain reads events until want distinct auditIDs were seen, acking every batch; it
// fails after a deadline (not a timing assert: a bound on a wait for what must happen).
func drain(t testing.TB, in pipeline.Input, want int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(seen) < want {
		b, ack, err := in.Read(ctx)
		if err != nil {
			t.Fatalf("read after %d of %d events: %v", len(seen), want, err)
		}
		for _, ev := range b {
			id, _ := ev.Lookup("auditID")
			seen[id.(string)]++
		}
		ack(nil)
	}
	return seen
}

// waitFor polls cond until it holds, failing after a bound.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type recMetrics struct {
	config.NopMetrics
	mu       sync.Mutex
	codes    map[int]int
	received int
}

func (m *recMetrics) WebhookRequest(_ string, code int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.codes == nil {
		m.codes = map[int]int{}
	}
	m.codes[code]++
}
func (m *recMetrics) WebhookDeclare(string) {}
func (m *recMetrics) WebhookEventsReceived(_ string, n int) {
	m.mu.Lock()
	m.received += n
	m.mu.Unlock()
}
func (m *recMetrics) Spool(string, int64, int, time.Duration) {}
