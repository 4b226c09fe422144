package elasticsearch

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/hashicorp/go-hclog"
)

// The tests in this file run against a real cluster, and only when
// AUDITSHIP_TEST_ELASTICSEARCH_URL is set (see docs/elasticsearch.md). Optional:
// AUDITSHIP_TEST_ELASTICSEARCH_USERNAME/_PASSWORD or _API_KEY, and
// AUDITSHIP_TEST_ELASTICSEARCH_INSECURE=true for a self-signed certificate. Every test
// writes to indices named auditship-test-<random>-* and deletes them afterwards.

func realCluster(t *testing.T) string {
	t.Helper()
	u := os.Getenv("AUDITSHIP_TEST_ELASTICSEARCH_URL")
	if u == "" {
		t.Skip("AUDITSHIP_TEST_ELASTICSEARCH_URL is not set")
	}
	return u
}

// realOutput returns an output for the real cluster (optionally through a proxy URL)
// writing to a fresh index prefix, which it deletes when the test ends.
func realOutput(t *testing.T, via string, mod func(c *Config, prefix string)) (testOutput, *Config, *elasticsearch.Client) {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "auditship-test-" + hex.EncodeToString(b[:])
	out, cfg, _ := newTestOutput(t, via, func(c *Config) {
		c.Index = prefix + "-%{+yyyy.MM.dd}"
		c.Username = os.Getenv("AUDITSHIP_TEST_ELASTICSEARCH_USERNAME")
		c.Password = Secret(os.Getenv("AUDITSHIP_TEST_ELASTICSEARCH_PASSWORD"))
		c.APIKey = Secret(os.Getenv("AUDITSHIP_TEST_ELASTICSEARCH_API_KEY"))
		c.TLS.InsecureSkipVerify, _ = strconv.ParseBool(os.Getenv("AUDITSHIP_TEST_ELASTICSEARCH_INSECURE"))
		if mod != nil {
			mod(c, prefix)
		}
	})
	// A client of its own: the engine closes the output's when it stops.
	esCfg, err := clientConfig(cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	client, err := elasticsearch.NewClient(esCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		res, err := esapi.IndicesDeleteRequest{Index: []string{prefix + "-*"}}.Do(context.Background(), client)
		if err == nil {
			res.Body.Close()
		}
		if cfg.DataStream != "" {
			res, err := esapi.IndicesDeleteDataStreamRequest{Name: []string{cfg.DataStream}}.Do(context.Background(), client)
			if err == nil {
				res.Body.Close()
			}
		}
		if cfg.SetupTemplate {
			res, err := esapi.IndicesDeleteIndexTemplateRequest{Name: cfg.TemplateName}.Do(context.Background(), client)
			if err == nil {
				res.Body.Close()
			}
		}
	})
	return out, cfg, client
}

// realCount refreshes and counts the documents in target.
func realCount(t *testing.T, client *elasticsearch.Client, target string) int {
	t.Helper()
	ctx := context.Background()
	res, err := esapi.IndicesRefreshRequest{Index: []string{target}}.Do(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	res, err = esapi.CountRequest{Index: []string{target}}.Do(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var c struct {
		Count int `json:"count"`
	}
	body, _ := io.ReadAll(res.Body)
	if res.IsError() || json.Unmarshal(body, &c) != nil {
		t.Fatalf("count %s: %s", target, body)
	}
	return c.Count
}

func indexWildcard(cfg *Config) string {
	p, _ := parseIndexPattern(cfg.Index)
	return p.wildcard()
}

func TestRealClusterWriteAndReplay(t *testing.T) {
	u := realCluster(t)
	out, cfg, client := realOutput(t, u, nil)
	ctx := context.Background()
	if err := out.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	b := auditEvents(t, 500)
	if err := out.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := out.Write(ctx, b); err != nil {
		t.Fatalf("replay must succeed through 409s: %v", err)
	}
	if n := realCount(t, client, indexWildcard(cfg)); n != 500 {
		t.Errorf("count = %d, want 500", n)
	}
}

func TestRealClusterDeadLetters(t *testing.T) {
	u := realCluster(t)
	out, cfg, client := realOutput(t, u, func(c *Config, prefix string) { c.SetupTemplate, c.TemplateName = true, prefix })
	// responseStatus.code is an integer in the template: a string there is a mapping
	// error Elasticsearch rejects with 400 for that document only.
	b := auditEvents(t, 20)
	bad := testEvent(t, `{"auditID":"bad","stage":"ResponseComplete","requestReceivedTimestamp":"2025-03-04T00:00:00Z","responseStatus":{"code":"not-a-number"}}`)
	b = append(b, bad)
	if err := out.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	dead := readDeadLetters(t, cfg.DeadLetterPath)
	if len(dead) != 1 || dead[0].Status != 400 {
		t.Fatalf("dead letters %+v, want the one bad event", dead)
	}
	if n := realCount(t, client, indexWildcard(cfg)); n != 20 {
		t.Errorf("count = %d, want 20", n)
	}
}

func TestRealClusterDataStream(t *testing.T) {
	u := realCluster(t)
	out, cfg, client := realOutput(t, u, func(c *Config, prefix string) {
		c.Index, c.DataStream = DefaultIndex, "logs-"+prefix+"-default"
		c.SetupTemplate, c.TemplateName = true, prefix
	})
	events := auditEvents(t, 100)
	for range 2 {
		if err := out.Write(context.Background(), events); err != nil {
			t.Fatal(err)
		}
	}
	if n := realCount(t, client, cfg.DataStream); n != 100 {
		t.Errorf("count = %d, want 100", n)
	}
}

// faultProxy sits in front of a real cluster and, for every tenth bulk request, answers
// 429 itself, drops the connection, or forwards it and then drops the answer.
type faultProxy struct {
	target *url.URL
	proxy  *httputil.ReverseProxy
	mu     sync.Mutex
	n      int
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.n++
	n := p.n
	p.mu.Unlock()
	if r.Method != http.MethodPost || !bytes.HasSuffix([]byte(r.URL.Path), []byte("_bulk")) {
		p.proxy.ServeHTTP(w, r)
		return
	}
	switch n % 30 {
	case 3:
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":{"type":"es_rejected_execution_exception","reason":"proxy"},"status":429}`))
	case 13:
		hangUp(w)
	case 23:
		rec := &discardWriter{header: http.Header{}}
		p.proxy.ServeHTTP(rec, r)
		hangUp(w)
	default:
		p.proxy.ServeHTTP(w, r)
	}
}

type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func hangUp(w http.ResponseWriter) {
	if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
		c.Close()
	}
}

func TestRealClusterEngineWithFaults(t *testing.T) {
	u := realCluster(t)
	target, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	if target.Scheme == "https" {
		rp.Transport = insecureTransport()
	}
	srv := &http.Server{Handler: &faultProxy{target: target, proxy: rp}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	out, cfg, client := realOutput(t, "http://"+ln.Addr().String(), nil)
	events := auditEvents(t, 3000)
	in := newMemInput(events, 50)
	runEngine(t, in, out, cfg)
	in.checkAcked(t)
	if n := realCount(t, client, indexWildcard(cfg)); n != len(events) {
		t.Errorf("count = %d, want %d: every event exactly once", n, len(events))
	}
}

func insecureTransport() http.RoundTripper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	ok, _ := strconv.ParseBool(os.Getenv("AUDITSHIP_TEST_ELASTICSEARCH_INSECURE"))
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: ok} //nolint:gosec // opt-in, for a local container
	return tr
}
