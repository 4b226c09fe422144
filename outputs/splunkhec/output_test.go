package splunkhec

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/corpustest"
	"github.com/auditship/auditship/internal/deadletter"
	"github.com/auditship/auditship/internal/testing/hectest"
	"github.com/auditship/auditship/pipeline"
)

const token = "11111111-2222-3333-4444-555555555555"

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

func newOutput(t *testing.T, url string, mod func(*Config)) (testOutput, *Config, *countingMetrics) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Endpoint = url
	cfg.Token = token
	cfg.DeadLetterPath = filepath.Join(t.TempDir(), "dlq", "hec.ndjson")
	cfg.RequestTimeout = 10 * time.Second
	cfg.AckPollInterval = 20 * time.Millisecond
	cfg.AckTimeout = 300 * time.Millisecond
	if mod != nil {
		mod(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := &countingMetrics{}
	out, err := New(cfg, config.Settings{Name: "hec", NodeName: "node-a", Logger: hclog.NewNullLogger(), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = out.Close(context.Background()) })
	dl := &pipeline.DeadLetters{Output: out, Name: "hec", File: deadletter.New(cfg.DeadLetterPath), Observer: m}
	return testOutput{out, dl}, cfg, m
}

func startServer(t *testing.T) *hectest.Server {
	srv := hectest.Start(token)
	t.Cleanup(srv.Close)
	return srv
}

// corpus returns n real kube-apiserver audit events (the recorded corpus), each once.
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

func key(t *testing.T, raw []byte) string {
	t.Helper()
	var k struct{ AuditID, Stage string }
	if err := json.Unmarshal(raw, &k); err != nil {
		t.Fatalf("event %q: %v", raw, err)
	}
	return k.AuditID + "/" + k.Stage
}

func readDead(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestEnvelope: what Splunk receives for an audit event and a kube-audit-rest one.
func TestEnvelope(t *testing.T) {
	srv := startServer(t)
	out, _, _ := newOutput(t, srv.URL, func(c *Config) {
		c.Index = "audit-%{objectRef.namespace}"
		c.Cluster = "prod-eu"
	})
	audit := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"a1","stage":"ResponseComplete",` +
		`"verb":"create","user":{"username":"alice"},"objectRef":{"resource":"pods","subresource":"exec","namespace":"Team-A"},` +
		`"requestObject":{"n":1.50,"big":123456789012345678901234567890,"e":1e400},` +
		`"requestReceivedTimestamp":"2025-03-04T12:00:00.100000Z","stageTimestamp":"2025-03-04T12:00:00.123456Z"}`
	kar := `{"kind":"Event","auditID":"k1","stage":"ResponseComplete","verb":"update","timestamp":"2025-03-04T12:00:01Z"}`
	ev1, err := pipeline.NewRawEvent([]byte(audit), pipeline.SourceAudit)
	if err != nil {
		t.Fatal(err)
	}
	ev1.Input = "apiserver-log" // as the engine sets it; ev2 came through no engine
	ev2, err := pipeline.NewRawEvent([]byte(kar), pipeline.SourceKubeAuditRest)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Write(context.Background(), pipeline.Batch{ev1, ev2}); err != nil {
		t.Fatal(err)
	}
	got := srv.Events()
	if len(got) != 2 {
		t.Fatalf("%d events indexed, want 2", len(got))
	}
	if total, gz := srv.Requests(); total != 1 || gz != 1 {
		t.Errorf("requests %d (gzipped %d), want 1 gzipped", total, gz)
	}
	a, k := got[0], got[1]
	for _, c := range []struct{ name, got, want string }{
		{"time", string(a.Time), "1741089600.123456"},
		{"host", a.Host, "node-a"},
		{"source", a.Source, "apiserver-log"},
		{"sourcetype", a.Sourcetype, DefaultSourcetype},
		{"index", a.Index, "audit-team-a"},
		{"fields", mustJSON(t, a.Fields), `{"cluster":"prod-eu","resource":"pods/exec","user":"alice","verb":"create"}`},
		// The event is its own bytes: numbers keep their digits, the schema is kept.
		{"event", string(a.Event), audit},
		{"kar time", string(k.Time), "1741089601"},
		{"kar source", k.Source, "kube-audit-rest"},
		{"kar sourcetype", k.Sourcetype, DefaultSourcetypeKubeAuditRest},
		{"kar index", k.Index, ""}, // no namespace: the token's default index
		{"kar fields", mustJSON(t, k.Fields), `{"cluster":"prod-eu","verb":"update"}`},
		{"kar event", string(k.Event), kar},
	} {
		if c.got != c.want {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
	if a.Channel != out.channel || len(out.channel) != 36 {
		t.Errorf("channel %q, output's %q", a.Channel, out.channel)
	}
}

// TestSource: the envelope's source is the configured `source`, else the name of the
// input the event was read from, else (no input: the event came through no engine) its
// format.
func TestSource(t *testing.T) {
	for _, c := range []struct {
		name, configured, input string
		format                  pipeline.Source
		want                    string
	}{
		{"input name", "", "apiserver-log", pipeline.SourceAudit, "apiserver-log"},
		{"kube-audit-rest input name", "", "webhook", pipeline.SourceKubeAuditRest, "webhook"},
		{"no input, audit", "", "", pipeline.SourceAudit, "kube-apiserver"},
		{"no input, kube-audit-rest", "", "", pipeline.SourceKubeAuditRest, "kube-audit-rest"},
		{"configured over input", "prod-audit", "apiserver-log", pipeline.SourceAudit, "prod-audit"},
		{"configured, kube-audit-rest", "prod-audit", "webhook", pipeline.SourceKubeAuditRest, "prod-audit"},
		{"configured, no input", "prod-audit", "", pipeline.SourceAudit, "prod-audit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := startServer(t)
			out, _, _ := newOutput(t, srv.URL, func(cfg *Config) { cfg.Source = c.configured })
			ev, err := pipeline.NewRawEvent([]byte(`{"kind":"Event","auditID":"s1","stage":"ResponseComplete","verb":"get"}`), c.format)
			if err != nil {
				t.Fatal(err)
			}
			ev.Input = c.input
			if err := out.Write(context.Background(), pipeline.Batch{ev}); err != nil {
				t.Fatal(err)
			}
			got := srv.Events()
			if len(got) != 1 {
				t.Fatalf("%d events indexed, want 1", len(got))
			}
			if got[0].Source != c.want {
				t.Errorf("source %q, want %q", got[0].Source, c.want)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRefusedTokenHoldsEvents: 401 and 403 are not dead letters and not Permanent
// (which the engine would acknowledge, dropping the events): the write fails with the
// reason, Ready reports it, and the events are delivered once the token is accepted.
func TestRefusedTokenHoldsEvents(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(*hectest.Server)
		token  string
		status string
	}{
		{"unknown token", nil, "wrong", "403 Invalid token, code 4"},
		{"disabled token", func(s *hectest.Server) { s.DisabledToken = "old" }, "old", "403 Token disabled, code 1"},
		{"empty token", nil, " ", "401 Invalid authorization, code 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t)
			if tc.mod != nil {
				tc.mod(srv)
			}
			out, cfg, m := newOutput(t, srv.URL, func(c *Config) { c.Token = Secret(tc.token) })
			b := corpus(t, 5)
			err := out.Write(context.Background(), b)
			if err == nil || pipeline.IsPermanent(err) || !strings.Contains(err.Error(), tc.status) ||
				!strings.Contains(err.Error(), "fix token/token_file") {
				t.Fatalf("Write = %v (permanent %v); want a retried error naming %q", err, pipeline.IsPermanent(err), tc.status)
			}
			if strings.Contains(err.Error(), tc.token) && strings.TrimSpace(tc.token) != "" {
				t.Errorf("error carries the token: %v", err)
			}
			if rerr := out.Ready(context.Background()); rerr == nil {
				t.Error("Ready = nil while the token is refused")
			}
			if len(srv.Events()) != 0 || m.dead != 0 || len(readDead(t, cfg.DeadLetterPath)) != 0 {
				t.Fatalf("refused request indexed or dead-lettered events")
			}
			out.auth = "Splunk " + token // the operator fixed the token
			if err := out.Write(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			if len(srv.Events()) != 5 {
				t.Errorf("%d events indexed, want 5", len(srv.Events()))
			}
			if err := out.Ready(context.Background()); err != nil {
				t.Errorf("Ready after the token works: %v", err)
			}
		})
	}
}

// TestRejectedEventsDeadLettered: HEC refuses a whole request with 400 and the number
// of the first bad event; each bad event ends in the dead-letter file once and every
// other event is indexed once, wherever the bad ones are in the batch.
func TestRejectedEventsDeadLettered(t *testing.T) {
	b := corpus(t, 40)
	for _, tc := range []struct {
		name string
		bad  []int
	}{
		{"first", []int{0}},
		{"middle", []int{17}},
		{"last", []int{39}},
		{"several", []int{3, 4, 20, 39}},
		{"all", func() []int {
			var all []int
			for i := range 40 {
				all = append(all, i)
			}
			return all
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t)
			bad := map[string]bool{}
			for _, i := range tc.bad {
				bad[key(t, b[i].Raw())] = true
			}
			srv.Reject = func(env []byte) bool {
				var e struct{ Event json.RawMessage }
				_ = json.Unmarshal(env, &e)
				return bad[key(t, e.Event)]
			}
			out, cfg, m := newOutput(t, srv.URL, func(c *Config) { c.Ack = true })
			if err := out.Write(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, e := range srv.Events() {
				seen[key(t, e.Event)]++
			}
			for _, ev := range b {
				k := key(t, ev.Raw())
				if want := map[bool]int{true: 0, false: 1}[bad[k]]; seen[k] != want {
					t.Errorf("%s indexed %d times, want %d", k, seen[k], want)
				}
			}
			dead := readDead(t, cfg.DeadLetterPath)
			if len(dead) != len(tc.bad) || m.dead != len(tc.bad) {
				t.Fatalf("%d dead letters (metric %d), want %d", len(dead), m.dead, len(tc.bad))
			}
			for _, d := range dead {
				env, _ := json.Marshal(d["event"])
				var e struct{ Event json.RawMessage }
				if err := json.Unmarshal(env, &e); err != nil || !bad[key(t, e.Event)] {
					t.Errorf("dead letter for a good event: %s", env)
				}
				if d["status"] != float64(400) || !strings.Contains(d["reason"].(string), "Invalid data format (code 6)") || d["output"] != "hec" {
					t.Errorf("dead letter lacks its cause: %v", d)
				}
			}
		})
	}
}

// TestLostAckResends: an accepted request whose ack never turns true is not delivered:
// the write fails after ack_timeout and the events are sent again (at least once).
func TestLostAckResends(t *testing.T) {
	srv := startServer(t)
	srv.Ack = true
	srv.LoseAcks = 1
	out, _, _ := newOutput(t, srv.URL, func(c *Config) { c.Ack = true })
	b := corpus(t, 10)
	err := out.Write(context.Background(), b)
	var lost *lostAckError
	if !errors.As(err, &lost) {
		t.Fatalf("Write = %v, want a lost ack", err)
	}
	if err := out.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Events()); n != 20 {
		t.Errorf("%d events indexed, want 20 (each twice: at least once)", n)
	}
}

// TestRedirectsNotFollowed: a 3xx from HEC (or a proxy before it) is retried, never
// followed: a followed 302/303 turned the POST into a body-less GET whose 200 acked the
// batch undelivered, and a 307/308 re-sent the events to any host the answer named.
func TestRedirectsNotFollowed(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			var hits atomic.Int64
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				_, _ = io.Copy(io.Discard, r.Body)
			}))
			t.Cleanup(target.Close)
			from := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+r.URL.Path, status)
			}))
			t.Cleanup(from.Close)
			out, _, _ := newOutput(t, from.URL, nil)
			err := out.Write(context.Background(), corpus(t, 3))
			if err == nil || pipeline.IsPermanent(err) {
				t.Errorf("Write = %v, want a retried error", err)
			}
			if n := hits.Load(); n != 0 {
				t.Errorf("the redirect was followed to another server (%d requests)", n)
			}
		})
	}
}
