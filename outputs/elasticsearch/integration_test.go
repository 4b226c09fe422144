package elasticsearch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/corpustest"
	"github.com/auditship/auditship/internal/deadletter"
	"github.com/auditship/auditship/internal/testing/estest"
	"github.com/auditship/auditship/pipeline"
)

// startServer starts an estest node for the test.
func startServer(t testing.TB, f estest.Faults) *estest.Server {
	t.Helper()
	s, err := estest.Start(estest.Options{Seed: 42, Faults: f})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// countingMetrics records dead-letter counts.
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

func (m *countingMetrics) deadLettered() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dead
}

// testOutput is the output behind the engine's dead-letter step (pipeline.DeadLetters),
// as the engine runs it, so a test sees the dead letters it writes and counts.
type testOutput struct {
	*Output
	dl *pipeline.DeadLetters
}

func (o testOutput) Write(ctx context.Context, b pipeline.Batch) error { return o.dl.Write(ctx, b) }

// newTestOutput returns an output for url writing dead letters under the test's dir.
func newTestOutput(t testing.TB, url string, mod func(*Config)) (testOutput, *Config, *countingMetrics) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Addresses = []string{url}
	cfg.DeadLetterPath = filepath.Join(t.TempDir(), "dlq", "es.ndjson")
	cfg.RequestTimeout = 10 * time.Second
	if mod != nil {
		mod(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := &countingMetrics{}
	out, err := New(cfg, config.Settings{Name: "es", Logger: hclog.NewNullLogger(), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = out.Close(context.Background()) })
	dl := &pipeline.DeadLetters{Output: out, Name: "es", File: deadletter.New(cfg.DeadLetterPath), Observer: m}
	return testOutput{out, dl}, cfg, m
}

// auditEvents makes n distinct events over two days.
func auditEvents(t testing.TB, n int) pipeline.Batch {
	t.Helper()
	b := make(pipeline.Batch, n)
	base := time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)
	for i := range b {
		ts := base.Add(time.Duration(i) * 10 * time.Minute).Format(time.RFC3339Nano)
		b[i] = testEvent(t, fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata",`+
			`"auditID":"00000000-0000-0000-0000-%012d","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods/p%d",`+
			`"verb":"get","user":{"username":"system:serviceaccount:default:sa%d","groups":["system:authenticated"]},`+
			`"sourceIPs":["10.0.0.%d"],"objectRef":{"resource":"pods","namespace":"default","name":"p%d","apiVersion":"v1"},`+
			`"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":%q,"stageTimestamp":%q}`,
			i, i, i%7, i%250, i, ts, ts))
	}
	return b
}

// docKey is the estest key ("index/_id") an event is stored under, as the encoder makes it.
func docKey(t testing.TB, cfg *Config, ev *pipeline.Event) string {
	t.Helper()
	name := cfg.Index
	if cfg.DataStream != "" {
		name = cfg.DataStream
	}
	p, err := parseIndexPattern(name)
	if err != nil {
		t.Fatal(err)
	}
	e := encoder{pattern: p, dataStream: cfg.DataStream, now: time.Now}
	_, items, bad := e.encode(nil, pipeline.Batch{ev})
	if len(items) != 1 || len(bad) != 0 {
		t.Fatalf("event not encodable: %v", bad)
	}
	return items[0].index + "/" + items[0].id.String()
}

// readDeadLetters parses the dead-letter file, checking its mode.
func readDeadLetters(t testing.TB, path string) []deadLetter {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("dead-letter file mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dead-letter dir mode %v, want 0700", di.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []deadLetter
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var d deadLetter
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("dead letter line %q: %v", sc.Text(), err)
		}
		out = append(out, d)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWriteIndexesAndReplayConflicts(t *testing.T) {
	for _, compression := range []string{"gzip", "none"} {
		t.Run(compression, func(t *testing.T) {
			srv := startServer(t, estest.Faults{})
			out, cfg, _ := newTestOutput(t, srv.URL, func(c *Config) { c.Compression = compression })
			b := auditEvents(t, 200)
			ctx := context.Background()
			if err := out.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
			// A replay (crash before the checkpoint) answers 409 for every item: success.
			if err := out.Write(ctx, b); err != nil {
				t.Fatalf("replay: %v", err)
			}
			st := srv.Stats()
			if st.ItemsCreated != 200 || st.Conflicts != 200 {
				t.Errorf("created %d, conflicts %d; want 200 and 200", st.ItemsCreated, st.Conflicts)
			}
			wantGzip := 0
			if compression == "gzip" {
				wantGzip = 2
			}
			if st.GzipRequests != wantGzip {
				t.Errorf("gzip requests %d, want %d", st.GzipRequests, wantGzip)
			}
			writes := srv.Writes()
			for _, ev := range b {
				if k := docKey(t, cfg, ev); writes[k] != 1 {
					t.Errorf("%s written %d times, want 1", k, writes[k])
				}
			}
			if n := srv.Count("k8s-audit-*"); n != 200 {
				t.Errorf("count = %d, want 200", n)
			}
			if got := srv.Indices(); len(got) != 2 {
				t.Errorf("indices %v, want the two days of the events", got)
			}
		})
	}
}

// TestItemFaultsRetryOnlyFailed drives Write as the engine does, resending only what a
// BatchError names, and checks from the server's side that no item was sent more often
// than it failed.
func TestItemFaultsRetryOnlyFailed(t *testing.T) {
	srv := startServer(t, estest.Faults{Item429Rate: 0.1, Item503Rate: 0.1})
	out, cfg, _ := newTestOutput(t, srv.URL, nil)
	all := auditEvents(t, 500)
	pending := all
	failures := map[string]int{}
	for round := 0; len(pending) > 0; round++ {
		if round > 50 {
			t.Fatalf("still %d pending after 50 rounds", len(pending))
		}
		err := out.Write(context.Background(), pending)
		if err == nil {
			break
		}
		var be *pipeline.BatchError
		if !errors.As(err, &be) {
			t.Fatalf("want a BatchError for item faults, got %v", err)
		}
		next := pipeline.Batch{}
		for i, ev := range pending {
			if _, bad := be.Failed[i]; bad {
				next = append(next, ev)
				failures[docKey(t, cfg, ev)]++
			}
		}
		pending = next
	}
	st := srv.Stats()
	if st.Item429 == 0 || st.Item503 == 0 {
		t.Fatalf("faults did not fire: %+v", st)
	}
	if st.Item429+st.Item503 != sum(failures) {
		t.Errorf("server failed %d items, output reported %d", st.Item429+st.Item503, sum(failures))
	}
	attempts, writes := srv.Attempts(), srv.Writes()
	for _, ev := range all {
		k := docKey(t, cfg, ev)
		if attempts[k] != failures[k]+1 {
			t.Errorf("%s sent %d times after %d failures: only failed items may be resent", k, attempts[k], failures[k])
		}
		if writes[k] != 1 {
			t.Errorf("%s written %d times", k, writes[k])
		}
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func TestDeadLetters(t *testing.T) {
	srv := startServer(t, estest.Faults{Item400Rate: 0.1, RejectField: "poison"})
	out, cfg, metrics := newTestOutput(t, srv.URL, nil)
	b := auditEvents(t, 300)
	poisoned := testEvent(t, `{"auditID":"poisoned","stage":"ResponseComplete","requestReceivedTimestamp":"2025-03-04T00:00:00Z","poison":1}`)
	b = append(b, poisoned)
	if err := out.Write(context.Background(), b); err != nil {
		t.Fatalf("rejected items are handled, not failed: %v", err)
	}

	want := map[string]bool{}
	for _, ev := range b {
		k := docKey(t, cfg, ev)
		index, id := splitKey(k)
		if ev == poisoned || srv.WouldReject400(index, id) {
			want[id] = true
		}
	}
	if len(want) < 10 {
		t.Fatalf("only %d rejections; the fault rate did not apply", len(want))
	}
	dead := readDeadLetters(t, cfg.DeadLetterPath)
	if len(dead) != len(want) || metrics.deadLettered() != len(want) {
		t.Errorf("dead letters %d (metric %d), want %d", len(dead), metrics.deadLettered(), len(want))
	}
	for _, d := range dead {
		if !want[d.ID] {
			t.Errorf("unexpected dead letter %s", d.ID)
		}
		if d.Status != 400 || d.ErrorType != "mapper_parsing_exception" || d.Reason == "" || d.Output != "es" || d.Index == "" {
			t.Errorf("dead letter lacks its cause: %+v", d)
		}
		var ev map[string]any
		if err := json.Unmarshal(d.Event, &ev); err != nil || ev["auditID"] == nil {
			t.Errorf("dead letter does not carry the event: %s (%v)", d.Event, err)
		}
	}
	if n := srv.Count("k8s-audit-*"); n != len(b)-len(want) {
		t.Errorf("indexed %d, want %d", n, len(b)-len(want))
	}
}

func splitKey(k string) (string, string) {
	for i := len(k) - 1; i >= 0; i-- {
		if k[i] == '/' {
			return k[:i], k[i+1:]
		}
	}
	return "", k
}

func TestWholeRequestFailures(t *testing.T) {
	tests := []struct {
		name      string
		faults    estest.Faults
		wantAfter time.Duration
		wantStat  func(estest.Stats) int
	}{
		{"429 with Retry-After", estest.Faults{RequestReject429Rate: 1, RetryAfter: 2 * time.Second}, 2 * time.Second,
			func(s estest.Stats) int { return s.Rejected429 }},
		{"connection dropped", estest.Faults{DropRate: 1}, 0, func(s estest.Stats) int { return s.Dropped }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.faults)
			out, _, _ := newTestOutput(t, srv.URL, nil)
			err := out.Write(context.Background(), auditEvents(t, 10))
			if err == nil {
				t.Fatal("want an error")
			}
			var be *pipeline.BatchError
			if errors.As(err, &be) || pipeline.IsPermanent(err) {
				t.Fatalf("a whole-request failure must be retried whole: %v", err)
			}
			var ra pipeline.RetryAfter
			got := time.Duration(0)
			if errors.As(err, &ra) {
				got = ra.RetryAfter()
			}
			if got != tt.wantAfter {
				t.Errorf("RetryAfter = %s, want %s", got, tt.wantAfter)
			}
			if tt.wantStat(srv.Stats()) != 1 {
				t.Errorf("fault did not fire: %+v", srv.Stats())
			}
		})
	}
}

func TestRequestTooLargeIsSplit(t *testing.T) {
	srv := startServer(t, estest.Faults{MaxRequestBytes: 8 << 10})
	out, cfg, metrics := newTestOutput(t, srv.URL, nil)
	b := auditEvents(t, 100)
	huge := testEvent(t, fmt.Sprintf(`{"auditID":"huge","stage":"ResponseComplete","requestObject":{"data":%q}}`, strings.Repeat("x", 10<<10)))
	b = append(b, huge)
	if err := out.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count("k8s-audit-*"); n != 100 {
		t.Errorf("indexed %d, want 100", n)
	}
	dead := readDeadLetters(t, cfg.DeadLetterPath)
	if len(dead) != 1 || dead[0].Status != 413 || metrics.deadLettered() != 1 {
		t.Errorf("dead letters %+v, want the one oversized event", dead)
	}
	if srv.Stats().TooLarge == 0 {
		t.Error("the 413 fault did not fire")
	}
}

func TestSetupTemplateAndDataStream(t *testing.T) {
	srv := startServer(t, estest.Faults{})
	out, cfg, _ := newTestOutput(t, srv.URL, func(c *Config) {
		c.SetupTemplate = true
		c.TemplateName = "k8s-audit"
		c.DataStream = "logs-kubernetes.audit-default"
	})
	b := auditEvents(t, 20)
	if err := out.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if err := out.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.TemplatesPut != 1 {
		t.Errorf("template installed %d times, want once", st.TemplatesPut)
	}
	tmpl, ok := srv.Template("k8s-audit")
	if !ok {
		t.Fatal("template not installed")
	}
	var got struct {
		IndexPatterns []string        `json:"index_patterns"`
		DataStream    json.RawMessage `json:"data_stream"`
	}
	if err := json.Unmarshal(tmpl, &got); err != nil || got.IndexPatterns[0] != cfg.DataStream || string(got.DataStream) != "{}" {
		t.Errorf("template %s (%v)", tmpl, err)
	}
	docs := srv.Docs(cfg.DataStream)
	if len(docs) != 20 {
		t.Fatalf("data stream holds %d docs, want 20", len(docs))
	}
	for id, d := range docs {
		var doc map[string]any
		if err := json.Unmarshal(d, &doc); err != nil || doc["@timestamp"] != doc["requestReceivedTimestamp"] {
			t.Errorf("doc %s: @timestamp %v, want requestReceivedTimestamp %v", id, doc["@timestamp"], doc["requestReceivedTimestamp"])
		}
	}
}

func TestReady(t *testing.T) {
	srv := startServer(t, estest.Faults{})
	out, _, _ := newTestOutput(t, srv.URL, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := out.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	srv.Down()
	if err := out.Ready(ctx); err == nil {
		t.Error("ready while the server is down")
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	if err := out.Ready(ctx); err != nil {
		t.Errorf("ready after coming back: %v", err)
	}
}

func TestNotElasticsearchIsRefused(t *testing.T) {
	// A server whose GET / does not answer as Elasticsearch or OpenSearch does: nothing is
	// sent to it, and the batch is retried rather than lost.
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"errors":false,"items":[{"create":{"status":201}}]}`))
	}))
	defer fake.Close()
	out, _, _ := newTestOutput(t, fake.URL, nil)
	err := out.Write(context.Background(), auditEvents(t, 1))
	if err == nil || pipeline.IsPermanent(err) {
		t.Fatalf("want a retryable error, got %v", err)
	}
}

// TestBodiesReusedOnlyAfterAnAnswer: a request body (and its gzipped copy) goes back to
// the free list only when the node answered the request in full. After a dropped
// connection net/http may still be reading it, so it must not be handed to the next batch.
func TestBodiesReusedOnlyAfterAnAnswer(t *testing.T) {
	for _, compression := range []string{"none", "gzip"} {
		t.Run(compression, func(t *testing.T) {
			s := startServer(t, estest.Faults{DropRate: 1})
			out, _, _ := newTestOutput(t, s.URL, func(c *Config) { c.Compression = compression })
			if err := out.Write(context.Background(), auditEvents(t, 20)); err == nil {
				t.Fatal("Write succeeded against a node that drops every request")
			}
			if len(out.bodies) != 0 || len(out.zbodies) != 0 {
				t.Fatalf("after a dropped request: %d bodies and %d gzipped bodies kept for reuse", len(out.bodies), len(out.zbodies))
			}
			s.SetFaults(estest.Faults{})
			if err := out.Write(context.Background(), auditEvents(t, 20)); err != nil {
				t.Fatal(err)
			}
			wantZ := 0
			if compression == "gzip" {
				wantZ = 1
			}
			if len(out.bodies) != 1 || len(out.zbodies) != wantZ {
				t.Fatalf("after an answered request: %d bodies and %d gzipped bodies kept, want 1 and %d", len(out.bodies), len(out.zbodies), wantZ)
			}
		})
	}
}

// TestBodyNotReusedAfterAShortAnswer: an answer without a result for every item may come
// before the node read the whole body (a proxy answering early, say), so the body is not
// reused after it.
func TestBodyNotReusedAfterAShortAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		switch {
		case r.URL.Path == "/":
			_, _ = io.WriteString(w, `{"version":{"number":"8.19.0"}}`)
		case strings.HasPrefix(r.URL.Path, "/_index_template/"):
			_, _ = io.WriteString(w, `{"acknowledged":true}`)
		default:
			_, _ = io.WriteString(w, `{"errors":false,"items":[{"create":{"status":201}}]}`)
		}
	}))
	defer srv.Close()
	out, _, _ := newTestOutput(t, srv.URL, nil)
	err := out.Write(context.Background(), auditEvents(t, 5))
	var be *pipeline.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 4 {
		t.Fatalf("Write = %v, want the 4 unanswered events to retry", err)
	}
	if len(out.bodies) != 0 {
		t.Fatalf("body kept for reuse after an answer for 1 of 5 items")
	}
}

// TestReusedAuditIDNeverMerges is issue 13's first kind: clients choose the audit ID
// (the Audit-ID request header), so two different requests can share it and the stage.
// Each must be its own document; the same bytes sent again must stay one.
func TestReusedAuditIDNeverMerges(t *testing.T) {
	const (
		list = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"11111111-2222-3333-4444-555555555555","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{"username":"mallory"},"objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-20T10:00:00.000001Z","stageTimestamp":"2026-11-20T10:00:00.000100Z"}`
		crb  = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"11111111-2222-3333-4444-555555555555","stage":"ResponseComplete","requestURI":"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings","verb":"create","user":{"username":"mallory"},"objectRef":{"resource":"clusterrolebindings","name":"pwn","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"},"responseStatus":{"code":201},"requestReceivedTimestamp":"2026-11-20T10:00:00.000002Z","stageTimestamp":"2026-11-20T10:00:00.000200Z"}`
		// The same request at another stage is another event.
		crbStarted = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"11111111-2222-3333-4444-555555555555","stage":"ResponseStarted","requestURI":"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings","verb":"create","user":{"username":"mallory"},"objectRef":{"resource":"clusterrolebindings","name":"pwn","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"},"requestReceivedTimestamp":"2026-11-20T10:00:00.000002Z","stageTimestamp":"2026-11-20T10:00:00.000150Z"}`
		noID1      = `{"verb":"get","requestReceivedTimestamp":"2026-11-20T10:00:00Z"}`
		noID2      = `{"verb":"delete","requestReceivedTimestamp":"2026-11-20T10:00:00Z"}`
	)
	kar := func(t testing.TB, uid, op, name string) *pipeline.Event {
		fields := map[string]any{"auditID": uid, "stage": "ResponseComplete", "verb": op,
			"objectRef":                map[string]any{"resource": "configmaps", "name": name},
			"requestReceivedTimestamp": "2026-11-20T10:00:00Z"}
		return pipeline.NewEvent(nil, fields, pipeline.SourceKubeAuditRest)
	}
	ev := func(raw string) func(testing.TB) *pipeline.Event {
		return func(t testing.TB) *pipeline.Event { return testEvent(t, raw) }
	}
	tests := []struct {
		name string
		// batches are written one after the other, as a first delivery and replays.
		batches  [][]func(testing.TB) *pipeline.Event
		dataStrm bool
		wantDocs int
	}{
		{name: "same auditID and stage, list then create clusterrolebinding",
			batches: [][]func(testing.TB) *pipeline.Event{{ev(list), ev(crb)}}, wantDocs: 2},
		{name: "the same pair in two batches",
			batches: [][]func(testing.TB) *pipeline.Event{{ev(list)}, {ev(crb)}}, wantDocs: 2},
		{name: "same auditID, other stage",
			batches: [][]func(testing.TB) *pipeline.Event{{ev(crb), ev(crbStarted)}}, wantDocs: 2},
		{name: "same bytes twice in one batch is one document",
			batches: [][]func(testing.TB) *pipeline.Event{{ev(crb), ev(crb)}}, wantDocs: 1},
		{name: "same bytes replayed is one document",
			batches: [][]func(testing.TB) *pipeline.Event{{ev(list), ev(crb)}, {ev(list), ev(crb)}, {ev(crb)}}, wantDocs: 2},
		{name: "no auditID: content decides",
			batches: [][]func(testing.TB) *pipeline.Event{{ev(noID1), ev(noID2)}, {ev(noID1)}}, wantDocs: 2},
		{name: "kube-audit-rest: same uid, other object",
			batches: [][]func(testing.TB) *pipeline.Event{{
				func(t testing.TB) *pipeline.Event { return kar(t, "u1", "get", "a") },
				func(t testing.TB) *pipeline.Event { return kar(t, "u1", "create", "b") },
			}, {
				func(t testing.TB) *pipeline.Event { return kar(t, "u1", "create", "b") },
			}}, wantDocs: 2},
		{name: "data stream: same auditID kept apart, replay stays one",
			batches: [][]func(testing.TB) *pipeline.Event{{ev(list), ev(crb)}, {ev(crb), ev(list)}}, dataStrm: true, wantDocs: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, estest.Faults{})
			out, cfg, m := newTestOutput(t, srv.URL, func(c *Config) {
				if tt.dataStrm {
					c.DataStream = "k8s-audit"
					c.SetupTemplate = true
				}
			})
			for _, mk := range tt.batches {
				var b pipeline.Batch
				for _, f := range mk {
					b = append(b, f(t))
				}
				if err := out.Write(context.Background(), b); err != nil {
					t.Fatalf("write: %v", err)
				}
			}
			pattern := "k8s-audit-*"
			if tt.dataStrm {
				pattern = cfg.DataStream
			}
			if n := srv.Count(pattern); n != tt.wantDocs {
				t.Errorf("%d documents, want %d", n, tt.wantDocs)
			}
			if d := m.deadLettered(); d != 0 {
				t.Errorf("%d dead-lettered, want 0", d)
			}
			for k, n := range srv.Writes() {
				if n != 1 {
					t.Errorf("%s stored %d times, want once", k, n)
				}
			}
		})
	}
}

// bodyEvent is an audit event of verb on resource carrying body as field (requestObject,
// responseObject or oldObject).
func bodyEvent(t testing.TB, n int, field, body string) *pipeline.Event {
	t.Helper()
	return testEvent(t, fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse",`+
		`"auditID":"body-%d","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/x","verb":"create",`+
		`"user":{"username":"u"},"objectRef":{"resource":"x","namespace":"default","apiVersion":"v1"},`+
		`"responseStatus":{"metadata":{},"code":201},%q:%s,`+
		`"requestReceivedTimestamp":"2026-11-20T10:00:0%dZ","stageTimestamp":"2026-11-20T10:00:0%dZ"}`, n, field, body, n, n))
}

func deepObject(depth int) string {
	return strings.Repeat(`{"properties":`, depth) + `{"type":"string"}` + strings.Repeat(`}`, depth)
}

func manyKeys(n int) string {
	var b strings.Builder
	b.WriteString(`{"kind":"ConfigMap","data":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"key-%d":"v"`, i)
	}
	b.WriteString(`}}`)
	return b.String()
}

// TestBodiesOfAnyShapeAreIndexed is issue 13's eighth kind: with the default
// configuration no request or response body can be rejected by the mapping that
// earlier bodies made. estest enforces dynamic mapping as Elasticsearch does.
func TestBodiesOfAnyShapeAreIndexed(t *testing.T) {
	svc := func(port string) string {
		return `{"kind":"Service","apiVersion":"v1","metadata":{"name":"s"},"spec":{"ports":[{"port":80,"targetPort":` + port + `}]}}`
	}
	tests := []struct {
		name   string
		field  string
		bodies []string
	}{
		{"Service targetPort 8080 then http", "requestObject", []string{svc("8080"), svc(`"http"`)}},
		{"Service targetPort in responses", "responseObject", []string{svc("8080"), svc(`"http"`)}},
		{"oldObject value then object", "oldObject", []string{`{"spec":{"x":"a"}}`, `{"spec":{"x":{"y":1}}}`}},
		{"labels app and app.kubernetes.io/name", "requestObject", []string{
			`{"metadata":{"labels":{"app":"web"}}}`, `{"metadata":{"labels":{"app.kubernetes.io/name":"web"}}}`}},
		{"a date-like string then another string", "requestObject", []string{
			`{"data":{"since":"2026-11-20"}}`, `{"data":{"since":"yesterday"}}`}},
		{"boolean then string", "responseObject", []string{`{"status":{"ready":true}}`, `{"status":{"ready":"maybe"}}`}},
		{"a ConfigMap of 1500 keys", "requestObject", []string{manyKeys(1500)}},
		{"a CRD schema nested 120 deep", "requestObject", []string{deepObject(120)}},
		{"empty and odd keys", "requestObject", []string{`{"data":{"a..b":"x",".":"y"}}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, estest.Faults{})
			out, cfg, m := newTestOutput(t, srv.URL, nil)
			for i, body := range tt.bodies {
				if err := out.Write(context.Background(), pipeline.Batch{bodyEvent(t, i, tt.field, body)}); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
			}
			if d := m.deadLettered(); d != 0 {
				for _, dl := range readDeadLetters(t, cfg.DeadLetterPath) {
					t.Logf("dead letter: %d %s %s", dl.Status, dl.ErrorType, dl.Reason)
				}
				t.Errorf("%d of %d events dead-lettered, want none", d, len(tt.bodies))
			}
			if n := srv.Count("k8s-audit-*"); n != len(tt.bodies) {
				t.Errorf("%d documents, want %d", n, len(tt.bodies))
			}
		})
	}
}

// TestCorpusIndexesWithoutRejection ships every audit event of the shared corpus (real
// public logs) with the default configuration to estest answering as Elasticsearch 8
// and as OpenSearch 2: no body may be rejected by a mapping another body made. Without
// the template the same events meet dynamic mapping, and the test logs how many it
// rejects.
func TestCorpusIndexesWithoutRejection(t *testing.T) {
	var events pipeline.Batch
	ids := map[string]bool{}
	corpustest.Lines(t, func(_ string, line []byte) {
		if !bytes.Contains(line, []byte(`"audit.k8s.io/`)) || !bytes.HasPrefix(bytes.TrimSpace(line), []byte("{")) {
			return
		}
		ev, err := pipeline.NewRawEvent(append([]byte(nil), line...), pipeline.SourceAudit)
		if err != nil {
			return
		}
		if k, _ := ev.Field("kind").(string); k != "Event" {
			return
		}
		events = append(events, ev)
		ids[string(bytes.TrimSpace(line))] = true
	})
	if len(events) < 100 {
		t.Fatalf("only %d audit events in the corpus", len(events))
	}
	for _, tt := range []struct {
		flavor   estest.Flavor
		template bool
	}{{estest.Elasticsearch8, true}, {estest.OpenSearch2, true}, {estest.Elasticsearch8, false}} {
		t.Run(fmt.Sprintf("%s-%s-template-%v", tt.flavor.Distribution, tt.flavor.Version, tt.template), func(t *testing.T) {
			srv := startFlavor(t, tt.flavor, nil)
			out, _, m := newTestOutput(t, srv.URL, func(c *Config) { c.SetupTemplate = tt.template })
			for i := 0; i < len(events); i += 100 {
				if err := out.Write(context.Background(), events[i:min(i+100, len(events))]); err != nil {
					t.Fatal(err)
				}
			}
			if !tt.template {
				t.Logf("%d events, %d distinct; without the template %d rejected by dynamic mapping", len(events), len(ids), m.deadLettered())
				return
			}
			if d := m.deadLettered(); d != 0 {
				t.Errorf("%d of %d corpus events dead-lettered", d, len(events))
			}
			if n := srv.Count("k8s-audit-*"); n != len(ids) {
				t.Errorf("%d documents for %d distinct events", n, len(ids))
			}
		})
	}
}

// TestConflictWithDifferentStoredDocument: a 409 counts as delivered only when the
// stored document is what was sent. One altered after indexing (or written under the
// id by something else) is dead-lettered and counted, never silently "delivered".
func TestConflictWithDifferentStoredDocument(t *testing.T) {
	const ev = `{"kind":"Event","auditID":"a","stage":"ResponseComplete","verb":"create","user":{"username":"mallory","groups":["system:authenticated"]},"objectRef":{"resource":"clusterrolebindings","name":"pwn"},"responseStatus":{"code":201},"requestObject":{"n":9007199254740993},"requestReceivedTimestamp":"2026-11-20T10:00:00Z"}`
	tests := []struct {
		name       string
		dataStream bool
		stored     func(string) string // from the document as sent
		wantDead   bool
	}{
		{name: "unchanged", stored: func(d string) string { return d }},
		{name: "a field added (ingest pipeline)", stored: func(d string) string {
			return strings.Replace(d, `"kind":"Event",`, `"kind":"Event","event":{"ingested":"2026-11-20T10:00:01Z"},`, 1)
		}},
		{name: "keys reordered", stored: func(d string) string {
			return strings.Replace(d, `"kind":"Event","auditID":"a",`, `"auditID":"a","kind":"Event",`, 1)
		}},
		{name: "verb changed", stored: func(d string) string { return strings.Replace(d, `"verb":"create"`, `"verb":"list"`, 1) }, wantDead: true},
		{name: "user removed", stored: func(d string) string {
			return strings.Replace(d, `"user":{"username":"mallory","groups":["system:authenticated"]},`, ``, 1)
		}, wantDead: true},
		{name: "group list changed", stored: func(d string) string {
			return strings.Replace(d, `["system:authenticated"]`, `["system:authenticated","x"]`, 1)
		}, wantDead: true},
		{name: "number's digits changed", stored: func(d string) string {
			return strings.Replace(d, `9007199254740993`, `9007199254740992`, 1)
		}, wantDead: true},
		{name: "data stream, verb changed", dataStream: true, stored: func(d string) string {
			return strings.Replace(d, `"verb":"create"`, `"verb":"list"`, 1)
		}, wantDead: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, estest.Faults{})
			out, cfg, m := newTestOutput(t, srv.URL, func(c *Config) {
				if tt.dataStream {
					c.DataStream = "k8s-audit"
				}
			})
			ctx := context.Background()
			if err := out.Write(ctx, pipeline.Batch{testEvent(t, ev)}); err != nil {
				t.Fatal(err)
			}
			index, id := splitKey(docKey(t, cfg, testEvent(t, ev)))
			sent := string(srv.Docs(index)[id])
			if sent == "" {
				t.Fatalf("%s/%s not stored", index, id)
			}
			if !srv.Replace(index, id, json.RawMessage(tt.stored(sent))) {
				t.Fatal("replace failed")
			}
			// The replay: 409, then the comparison.
			if err := out.Write(ctx, pipeline.Batch{testEvent(t, ev)}); err != nil {
				t.Fatalf("replay: %v", err)
			}
			if got := m.deadLettered(); (got == 1) != tt.wantDead || got > 1 {
				t.Fatalf("%d dead-lettered, want dead=%v", got, tt.wantDead)
			}
			if !tt.wantDead {
				return
			}
			dl := readDeadLetters(t, cfg.DeadLetterPath)
			if len(dl) != 1 || dl[0].Status != 409 || dl[0].ErrorType != conflictDifferent || dl[0].ID != id || string(dl[0].Event) != sent {
				t.Errorf("dead letter %+v", dl)
			}
		})
	}
}
