package httpout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/klauspost/compress/gzip"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/testing/meminput"
	"github.com/auditship/auditship/pipeline"
)

// server is an NDJSON collector on 127.0.0.1 with faults: it records the auditIDs of
// every request it took, and answers with the status fault gives (0: 200).
type server struct {
	*httptest.Server
	mu       sync.Mutex
	got      map[string]int
	requests int
	headers  http.Header
	fault    func(n int, ids []string, size int) (status int, header http.Header)
}

func startServer(t *testing.T) *server {
	t.Helper()
	s := &server{got: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev struct {
			AuditID string `json:"auditID"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			http.Error(w, "not NDJSON", http.StatusBadRequest)
			return
		}
		ids = append(ids, ev.AuditID)
	}
	s.mu.Lock()
	s.requests++
	n := s.requests
	s.headers = r.Header.Clone()
	fault := s.fault
	s.mu.Unlock()
	if fault != nil {
		if status, h := fault(n, ids, len(data)); status != 0 {
			for k, v := range h {
				w.Header()[k] = v
			}
			w.WriteHeader(status)
			fmt.Fprintf(w, "refused: %s", strings.Join(ids, ","))
			return
		}
	}
	s.mu.Lock()
	for _, id := range ids {
		s.got[id]++
	}
	s.mu.Unlock()
}

func (s *server) delivered() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.got))
	for k, v := range s.got {
		out[k] = v
	}
	return out
}

func events(t *testing.T, n int) pipeline.Batch {
	t.Helper()
	b := make(pipeline.Batch, n)
	for i := range b {
		ev, err := pipeline.NewRawEvent([]byte(fmt.Sprintf(`{"kind":"Event","auditID":"id-%03d","stage":"ResponseComplete","verb":"get","n":1.50}`, i)), pipeline.SourceAudit)
		if err != nil {
			t.Fatal(err)
		}
		b[i] = ev
	}
	return b
}

// run ships evs through the real engine, as the agent builds the output (the factory,
// with its default dead-letter file under dataDir), and returns the input to check acks.
func run(t *testing.T, c *Config, dataDir string, evs pipeline.Batch) *meminput.Input {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	out, opts, err := NewFactory().Create(c, config.Settings{Name: "collector", DataDir: dataDir, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	opts.RetryInitial, opts.RetryMax = 10*time.Millisecond, 50*time.Millisecond
	opts.Batch.FlushInterval = 10 * time.Millisecond
	in := meminput.New(evs, 16)
	eng := pipeline.New(pipeline.Config{
		Inputs:  []pipeline.InputSpec{{Name: "mem", Input: in}},
		Outputs: []pipeline.OutputSpec{{Name: "collector", Output: out, Options: opts}},
		Logger:  hclog.NewNullLogger(),
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := eng.Run(ctx, true); err != nil {
		t.Fatalf("engine: %v", err)
	}
	if err := in.Check(); err != nil {
		t.Fatal(err)
	}
	return in
}

func readDead(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("dead-letter file mode %v, want 0600", fi.Mode().Perm())
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("dead letter %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// TestFaults: through the real engine, for each way a server answers, every event is
// delivered exactly once or is in the dead-letter file, and every batch is acked.
func TestFaults(t *testing.T) {
	poison := map[string]bool{"id-007": true, "id-033": true}
	for _, tc := range []struct {
		name     string
		comp     string
		fault    func(n int, ids []string, size int) (int, http.Header)
		wantDead []string
	}{
		{"accepts all", "gzip", nil, nil},
		{"accepts all, uncompressed", "none", nil, nil},
		{"429 with Retry-After, then accepts", "gzip", func(n int, _ []string, _ int) (int, http.Header) {
			if n <= 2 {
				return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}
			}
			return 0, nil
		}, nil},
		{"503 and 504 storm", "gzip", func(n int, _ []string, _ int) (int, http.Header) {
			if n%3 != 0 {
				return http.StatusServiceUnavailable + n%2, nil
			}
			return 0, nil
		}, nil},
		{"401 until the token is fixed", "gzip", func(n int, _ []string, _ int) (int, http.Header) {
			if n <= 3 {
				return http.StatusUnauthorized, nil
			}
			return 0, nil
		}, nil},
		{"400 for a poisoned event", "gzip", func(_ int, ids []string, _ int) (int, http.Header) {
			for _, id := range ids {
				if poison[id] {
					return http.StatusBadRequest, nil
				}
			}
			return 0, nil
		}, []string{"id-007", "id-033"}},
		{"422 for a poisoned event", "none", func(_ int, ids []string, _ int) (int, http.Header) {
			for _, id := range ids {
				if poison[id] {
					return http.StatusUnprocessableEntity, nil
				}
			}
			return 0, nil
		}, []string{"id-007", "id-033"}},
		{"413 above 1 KiB: split, none dead", "none", func(_ int, _ []string, size int) (int, http.Header) {
			if size > 1024 {
				return http.StatusRequestEntityTooLarge, nil
			}
			return 0, nil
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t)
			srv.fault = tc.fault
			c := DefaultConfig()
			c.URL = srv.URL + "/ingest"
			c.Compression = tc.comp
			c.BearerToken = "s3cret"
			c.Headers = map[string]string{"X-Tenant": "audit"}
			dataDir := t.TempDir()
			evs := events(t, 40)
			run(t, c, dataDir, evs)

			dead := readDead(t, filepath.Join(dataDir, "dlq", "collector.ndjson"))
			isDead := map[string]bool{}
			for _, d := range dead {
				ev, _ := d["event"].(map[string]any)
				id, _ := ev["auditID"].(string)
				isDead[id] = true
				if d["output"] != "collector" || d["status"] == nil || !strings.Contains(d["reason"].(string), "refused") {
					t.Errorf("dead letter lacks its cause: %v", d)
				}
				if !strings.Contains(fmt.Sprint(ev["n"]), "1.5") {
					t.Errorf("dead letter does not carry the event: %v", d)
				}
			}
			if len(dead) != len(tc.wantDead) {
				t.Errorf("%d dead letters, want %v", len(dead), tc.wantDead)
			}
			for _, id := range tc.wantDead {
				if !isDead[id] {
					t.Errorf("%s not dead-lettered", id)
				}
			}
			got := srv.delivered()
			for _, ev := range evs {
				id := ev.Fields()["auditID"].(string)
				want := 1
				if isDead[id] {
					want = 0
				}
				if got[id] != want {
					t.Errorf("%s delivered %d times, want %d", id, got[id], want)
				}
			}
			srv.mu.Lock()
			h := srv.headers
			srv.mu.Unlock()
			if h.Get("Authorization") != "Bearer s3cret" || h.Get("X-Tenant") != "audit" || h.Get("Content-Type") != "application/x-ndjson" {
				t.Errorf("request headers %v", h)
			}
		})
	}
}

// TestWriteErrors: what Write itself reports, which the engine acts on: Retry-After
// carried, 401 neither permanent nor dead-lettered, an event too large for any request
// rejected alone, a refused connection retried.
func TestWriteErrors(t *testing.T) {
	srv := startServer(t)
	newOut := func(url string) *Output {
		c := DefaultConfig()
		c.URL = url
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		o, err := New(c, config.Settings{})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	out := newOut(srv.URL)
	b := events(t, 4)

	srv.fault = func(int, []string, int) (int, http.Header) {
		return http.StatusTooManyRequests, http.Header{"Retry-After": {"7"}}
	}
	err := out.Write(context.Background(), b)
	var ra pipeline.RetryAfter
	if err == nil || pipeline.IsPermanent(err) || !errors.As(err, &ra) || ra.RetryAfter() != 7*time.Second {
		t.Errorf("429: Write = %v, want a retried error with Retry-After 7s", err)
	}

	srv.fault = func(int, []string, int) (int, http.Header) { return http.StatusForbidden, nil }
	err = out.Write(context.Background(), b)
	var be *pipeline.BatchError
	if err == nil || pipeline.IsPermanent(err) || errors.As(err, &be) || !strings.Contains(err.Error(), "403") {
		t.Errorf("403: Write = %v, want the whole batch retried", err)
	}

	srv.fault = func(_ int, ids []string, _ int) (int, http.Header) {
		if len(ids) > 0 {
			return http.StatusRequestEntityTooLarge, nil
		}
		return 0, nil
	}
	err = out.Write(context.Background(), b[:1])
	var r *pipeline.Rejection
	if !pipeline.IsPermanent(err) || !errors.As(err, &r) || r.Status != 413 || strings.Contains(err.Error(), "id-000") {
		t.Errorf("413 for one event: Write = %v, want it rejected for good without its content in the error", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	if err := newOut(closed).Write(context.Background(), b); err == nil || pipeline.IsPermanent(err) {
		t.Errorf("connection refused: Write = %v, want a retried error", err)
	}
}

func TestValidate(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, want, warn string
		mod              func(c *Config)
	}{
		{"valid", "", "", func(c *Config) {}},
		{"no url", "url: is required", "", func(c *Config) { c.URL = "" }},
		{"not http", "url: \"ftp://x\" is not an http", "", func(c *Config) { c.URL = "ftp://x" }},
		{"credentials in url", "url: must not carry credentials", "", func(c *Config) { c.URL = "https://u:p@x.example/" }},
		{"cleartext", "", "url: the audit events are sent over http://", func(c *Config) { c.URL = "http://x.example/" }},
		{"both token and file", "bearer_token_file: set either bearer_token or bearer_token_file", "", func(c *Config) {
			c.BearerToken, c.BearerTokenFile = "a", tokenFile
		}},
		{"token file missing", "bearer_token_file: ", "", func(c *Config) { c.BearerTokenFile = tokenFile + ".missing" }},
		{"authorization header", "headers: Authorization", "", func(c *Config) { c.Headers = map[string]string{"authorization": "x"} }},
		{"bad header", "headers: \"a b\" is not a header name", "", func(c *Config) { c.Headers = map[string]string{"a b": "x"} }},
		{"Host header", "headers: Host is set by the output", "", func(c *Config) { c.Headers = map[string]string{"host": "x"} }},
		{"Content-Encoding header", "headers: Content-Encoding is set by the output", "", func(c *Config) {
			c.Compression, c.Headers = "none", map[string]string{"Content-Encoding": "gzip"}
		}},
		{"header value with a line break", "headers: the value of \"X-Tenant\" holds a control character", "", func(c *Config) {
			c.Headers = map[string]string{"X-Tenant": "a\r\nX-Injected: 1"}
		}},
		{"compression", "compression: unknown value", "", func(c *Config) { c.Compression = "br" }},
		{"timeout", "request_timeout: must be positive", "", func(c *Config) { c.RequestTimeout = 0 }},
		{"batch", "batch_max_events: must be positive", "", func(c *Config) { c.BatchMaxEvents = 0 }},
		{"dead letters in a world-writable directory", "", "dead_letter_path: ", func(c *Config) {
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			c.DeadLetterPath = filepath.Join(dir, "dlq.ndjson")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.URL = "https://collector.example/ingest"
			tc.mod(c)
			err := c.Validate()
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
			warns := strings.Join(c.Warnings(), "\n")
			if (tc.warn == "") != (warns == "") || !strings.Contains(warns, tc.warn) {
				t.Errorf("warnings %q, want %q", warns, tc.warn)
			}
		})
	}
}

// TestRedirectsNotFollowed: a 3xx is an answer to retry, never followed. Followed, a 302
// or 303 turned the POST into a body-less GET whose 200 acknowledged the batch (events
// lost), and a 307 or 308 re-sent the events and the configured headers to whatever host
// the server named.
func TestRedirectsNotFollowed(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			hits := 0
			var mu sync.Mutex
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				hits++
				mu.Unlock()
				io.Copy(io.Discard, r.Body)
			}))
			t.Cleanup(target.Close)
			from := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+"/elsewhere", status)
			}))
			t.Cleanup(from.Close)
			out := validOutput(t, from.URL+"/ingest", func(c *Config) { c.Headers = map[string]string{"X-Api-Key": "k"} })
			err := out.Write(context.Background(), events(t, 3))
			if err == nil || pipeline.IsPermanent(err) || !strings.Contains(err.Error(), strconv.Itoa(status)) {
				t.Errorf("Write = %v, want a retried error naming %d", err, status)
			}
			mu.Lock()
			defer mu.Unlock()
			if hits != 0 {
				t.Errorf("the redirect was followed to another server (%d requests)", hits)
			}
		})
	}
}

// TestTransportErrorHidesQuery: collectors that take their token in the URL's query
// (?api_key=...) must not see it in the error the engine logs on every retry; net/http's
// error quotes the whole URL.
func TestTransportErrorHidesQuery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	out := validOutput(t, "http://"+addr+"/ingest?api_key=s3cret-in-query", nil)
	err = out.Write(context.Background(), events(t, 1))
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), addr+"/ingest") {
		t.Errorf("Write = %v, want an error naming the URL without its query", err)
	}
}

// validOutput is an output for url with the defaults, changed by mod (nil: none), that
// passed Validate.
func validOutput(t *testing.T, url string, mod func(*Config)) *Output {
	t.Helper()
	c := DefaultConfig()
	c.URL = url
	if mod != nil {
		mod(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	out, err := New(c, config.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
