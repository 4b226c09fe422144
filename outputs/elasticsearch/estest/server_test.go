package estest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, url, body string, gz bool) (int, http.Header, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	if gz {
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write([]byte(body))
		_ = zw.Close()
	} else {
		buf.WriteString(body)
	}
	req, err := http.NewRequest(http.MethodPost, url, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer %s: %v", raw, err)
	}
	return res.StatusCode, res.Header, out
}

func TestBulkFollowsTheReference(t *testing.T) {
	s, err := Start(Options{Faults: Faults{RejectField: "bad"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body := `{"create":{"_index":"a","_id":"1"}}
{"x":1}
{"create":{"_index":"a","_id":"1"}}
{"x":2}
{"index":{"_id":"2"}}
{"x":3}
{"create":{}}
{"bad":true}
{"delete":{"_index":"a","_id":"9"}}
`
	status, h, out := post(t, s.URL+"/a/_bulk", body, true)
	if status != 200 || h.Get("X-Elastic-Product") != "Elasticsearch" || out["errors"] != true {
		t.Fatalf("status %d, header %q, errors %v", status, h.Get("X-Elastic-Product"), out["errors"])
	}
	items := out["items"].([]any)
	want := []struct {
		op      string
		status  float64
		errType string
	}{
		{"create", 201, ""}, {"create", 409, "version_conflict_engine_exception"}, {"index", 201, ""},
		{"create", 400, "mapper_parsing_exception"}, {"delete", 404, ""},
	}
	if len(items) != len(want) {
		t.Fatalf("%d items, want %d", len(items), len(want))
	}
	for i, w := range want {
		it := items[i].(map[string]any)[w.op].(map[string]any)
		typ := ""
		if e, ok := it["error"].(map[string]any); ok {
			typ = e["type"].(string)
		}
		if it["status"] != w.status || typ != w.errType || it["_index"] != "a" || it["_id"] == "" {
			t.Errorf("item %d = %v, want %s %v %s", i, it, w.op, w.status, w.errType)
		}
	}
	if n := s.Count("a"); n != 2 {
		t.Errorf("count = %d, want 2", n)
	}

	status, _, out = post(t, s.URL+"/_bulk?filter_path=items.*.status", `{"create":{"_index":"a","_id":"1"}}`+"\n{}\n", false)
	if status != 200 || len(out) != 1 || !strings.Contains(mustJSON(out), `{"items":[{"create":{"status":409}}]}`) {
		t.Errorf("filter_path answer %v", out)
	}
	status, _, out = post(t, s.URL+"/_bulk", `{"create":{"_index":"a"}}`+"\n{}", false)
	if status != 400 || out["error"].(map[string]any)["type"] != "illegal_argument_exception" {
		t.Errorf("missing final newline: %d %v", status, out)
	}
}

func TestDownAndUp(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Down()
	if _, err := http.Get(s.URL); err == nil {
		t.Fatal("reachable while down")
	}
	if err := s.Up(); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("info status %d", res.StatusCode)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
