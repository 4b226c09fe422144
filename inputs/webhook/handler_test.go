package webhook

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/config"
)

// TestAnswerCodes covers every code the handler answers, with the variants of each.
func TestAnswerCodes(t *testing.T) {
	valid := eventList("audit.k8s.io/v1", "a-1", "a-2")
	huge := eventList("audit.k8s.io/v1", idRange("h", 0, 80)...) // ~33 KiB
	cases := []struct {
		name string
		body []byte
		hdr  map[string]string
		want int
		n    int // events spooled
	}{
		{"v1", []byte(valid), nil, 200, 2},
		{"v1beta1", []byte(eventList("audit.k8s.io/v1beta1", "b-1")), nil, 200, 1},
		{"gzip", gz(t, valid), map[string]string{"Content-Encoding": "gzip"}, 200, 2},
		{"charset param", []byte(valid), map[string]string{"Content-Type": "application/json; charset=utf-8"}, 200, 2},
		{"no content type", []byte(valid), map[string]string{"Content-Type": ""}, 200, 2},
		{"no items", []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[]}`), nil, 200, 0},
		{"items null", []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":null}`), nil, 200, 0},
		{"pretty printed", []byte("{\n \"kind\": \"EventList\",\n \"apiVersion\": \"audit.k8s.io/v1\",\n \"items\": [\n  {\"auditID\": \"p-1\",\n \"n\": 1.50}\n ]\n}\n"), nil, 200, 1},
		{"not json", []byte("hello"), nil, 400, 0},
		{"empty body", nil, nil, 400, 0},
		{"array", []byte(`[` + item("x") + `]`), nil, 400, 0},
		{"single event", []byte(item("x")), nil, 400, 0},
		{"ITEMS", []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","ITEMS":[` + item("x") + `]}`), nil, 400, 0},
		{"Kind", []byte(`{"Kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + item("x") + `]}`), nil, 400, 0},
		{"kind Event", []byte(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","items":[]}`), nil, 400, 0},
		{"other apiVersion", []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v2","items":[]}`), nil, 400, 0},
		{"no apiVersion", []byte(`{"kind":"EventList","items":[]}`), nil, 400, 0},
		{"items object", []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":{}}`), nil, 400, 0},
		{"item string", []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":["x"]}`), nil, 400, 0},
		{"repeated items", []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[],"items":[` + item("x") + `]}`), nil, 400, 0},
		{"trailing data", []byte(valid + `{}`), nil, 400, 0},
		{"cut", []byte(valid[:len(valid)-3]), nil, 400, 0},
		{"broken gzip", gz(t, valid)[:20], map[string]string{"Content-Encoding": "gzip"}, 400, 0},
		{"gzip header claimed, plain body", []byte(valid), map[string]string{"Content-Encoding": "gzip"}, 400, 0},
		{"over max", []byte(huge), nil, 413, 0},
		{"gzip expands over max", gz(t, huge), map[string]string{"Content-Encoding": "gzip"}, 413, 0},
		{"text/plain", []byte(valid), map[string]string{"Content-Type": "text/plain"}, 415, 0},
		{"br", []byte(valid), map[string]string{"Content-Encoding": "br"}, 415, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := plainConfig(filepath.Join(t.TempDir(), "spool"))
			c.MaxRequestBytes = 16 << 10
			m := &recMetrics{}
			in, err := New(c, config.Settings{Name: "hook", DataDir: t.TempDir(), Metrics: m})
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			w := post(in, tc.body, tc.hdr)
			if w.Code != tc.want {
				t.Fatalf("code %d (%q), want %d", w.Code, w.Body.String(), tc.want)
			}
			if strings.Contains(w.Body.String(), "a-1") || strings.Contains(w.Body.String(), "admin") {
				t.Fatalf("answer quotes the body: %q", w.Body.String())
			}
			if m.received != tc.n || m.codes[tc.want] != 1 {
				t.Fatalf("received %d, codes %v; want %d received and one %d", m.received, m.codes, tc.n, tc.want)
			}
			if tc.n > 0 {
				drain(t, in, tc.n)
			}
		})
	}
}

func TestMethodPathShutdown(t *testing.T) {
	in := newInput(t, plainConfig(filepath.Join(t.TempDir(), "spool")), t.TempDir())
	valid := []byte(eventList("audit.k8s.io/v1", "a-1"))
	r := httptest.NewRequest(http.MethodGet, "/audit", nil)
	w := httptest.NewRecorder()
	in.ServeHTTP(w, r)
	if w.Code != 405 || w.Header().Get("Allow") != "POST" {
		t.Fatalf("GET: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
	r = httptest.NewRequest(http.MethodPost, "/other", nil)
	w = httptest.NewRecorder()
	in.ServeHTTP(w, r)
	if w.Code != 404 {
		t.Fatalf("other path: %d", w.Code)
	}
	in.closing.Store(true)
	if w := post(in, valid, nil); w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("shutting down: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestBearerToken(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := plainConfig(filepath.Join(dir, "spool"))
	c.BearerTokenFile = tokFile
	in := newInput(t, c, t.TempDir())
	valid := []byte(eventList("audit.k8s.io/v1", "a-1"))
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"", 401},
		{"Basic czNjcmV0LXRva2Vu", 401},
		{"Bearer", 401},
		{"Bearer wrong", 403},
		{"Bearer s3cret-toke", 403},
		{"Bearer s3cret-token-longer", 403},
		{"Bearer S3CRET-TOKEN", 403},
		{"Bearer s3cret-token", 200},
		{"bearer s3cret-token", 200},
	} {
		w := post(in, valid, map[string]string{"Authorization": tc.auth})
		if w.Code != tc.want {
			t.Errorf("Authorization %q: %d, want %d", tc.auth, w.Code, tc.want)
		}
		if tc.want == 401 && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: 401 without WWW-Authenticate", tc.auth)
		}
	}
}

// TestSpoolFull: past max_spool_bytes requests are answered 429 with Retry-After and
// /readyz fails; once the spool is delivered and its segment deleted, 200 again.
func TestSpoolFull(t *testing.T) {
	c := plainConfig(filepath.Join(t.TempDir(), "spool"))
	c.MaxRequestBytes = 4 << 10
	c.MaxSpoolBytes = 4 << 10
	in := newInput(t, c, t.TempDir())
	var sent []string
	for i := 0; ; i++ {
		ids := idRange("f", i*2, i*2+2)
		w := post(in, []byte(eventList("audit.k8s.io/v1", ids...)), nil)
		if w.Code == 429 {
			if w.Header().Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			break
		}
		if w.Code != 200 {
			t.Fatalf("request %d: %d", i, w.Code)
		}
		sent = append(sent, ids...)
	}
	if err := in.Ready(t.Context()); err == nil {
		t.Fatal("ready with a full spool")
	}
	got := drain(t, in, len(sent))
	for _, id := range sent {
		if got[id] != 1 {
			t.Fatalf("%s delivered %d times", id, got[id])
		}
	}
	in.sp.now = func() time.Time { return time.Now().Add(segmentAge) } // the segment is old enough to roll
	waitFor(t, "the delivered segment to be deleted", func() bool { return !in.sp.full() })
	if err := in.Ready(t.Context()); err != nil {
		t.Fatalf("not ready after the spool emptied: %v", err)
	}
	if w := post(in, []byte(eventList("audit.k8s.io/v1", "after")), nil); w.Code != 200 {
		t.Fatalf("after emptying: %d", w.Code)
	}
}
