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

func get(t *testing.T, url string) (int, http.Header, map[string]any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, out
}

// TestFlavors: GET / and the product header as each distribution answers.
func TestFlavors(t *testing.T) {
	tests := []struct {
		flavor       Flavor
		header       string
		distribution any
	}{
		{Elasticsearch717, "Elasticsearch", nil},
		{Elasticsearch8, "Elasticsearch", nil},
		{Elasticsearch9, "Elasticsearch", nil},
		{OpenSearch1, "", "opensearch"},
		{OpenSearch2, "", "opensearch"},
	}
	for _, tt := range tests {
		s, err := Start(Options{Flavor: tt.flavor})
		if err != nil {
			t.Fatal(err)
		}
		_, h, info := get(t, s.URL+"/")
		v := info["version"].(map[string]any)
		if h.Get("X-Elastic-Product") != tt.header || v["number"] != tt.flavor.Version || v["distribution"] != tt.distribution {
			t.Errorf("%v: header %q, version %v", tt.flavor, h.Get("X-Elastic-Product"), v)
		}
		s.Close()
	}
}

// TestTemplateTypesPerFlavor: a template with a type the distribution lacks is refused
// as the real put-template call refuses it.
func TestTemplateTypesPerFlavor(t *testing.T) {
	tmpl := func(typ string) string {
		return `{"index_patterns":["a-*"],"template":{"mappings":{"properties":{"body":{"type":"` + typ + `"}}}}}`
	}
	tests := []struct {
		flavor Flavor
		typ    string
		ok     bool
	}{
		{Elasticsearch8, "flattened", true},
		{Elasticsearch8, "flat_object", false},
		{OpenSearch2, "flat_object", true},
		{OpenSearch2, "flattened", false},
		{OpenSearch26, "flat_object", false},
	}
	for _, tt := range tests {
		s, err := Start(Options{Flavor: tt.flavor})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPut, s.URL+"/_index_template/t", strings.NewReader(tmpl(tt.typ)))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if (res.StatusCode == http.StatusOK) != tt.ok {
			t.Errorf("%v %s: status %d, want ok=%v", tt.flavor, tt.typ, res.StatusCode, tt.ok)
		}
		s.Close()
	}
}

// TestDynamicMappingConflicts: the first value maps a field; a later value of another
// shape is rejected with 400, and a rejected document adds no field.
func TestDynamicMappingConflicts(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body := `{"create":{"_index":"a","_id":"1"}}
{"p":{"targetPort":8080}}
{"create":{"_index":"a","_id":"2"}}
{"p":{"targetPort":"http"}}
{"create":{"_index":"a","_id":"3"}}
{"p":{"targetPort":"9090"},"q":{"x":1}}
{"create":{"_index":"a","_id":"4"}}
{"p":"flat"}
{"create":{"_index":"a","_id":"5"}}
{"q":{"x":{"y":1}}}
`
	_, _, out := post(t, s.URL+"/_bulk", body, false)
	want := []float64{201, 400, 201, 400, 400}
	for i, it := range out["items"].([]any) {
		st := it.(map[string]any)["create"].(map[string]any)["status"].(float64)
		if st != want[i] {
			t.Errorf("item %d: status %v, want %v", i+1, st, want[i])
		}
	}
}

// TestSigV4Refusals: a request without a signature, or signed for another region, is
// refused with 403 before it does anything.
func TestSigV4Refusals(t *testing.T) {
	s, err := Start(Options{Flavor: OpenSearch2, SigV4: &SigV4{Region: "eu-west-1", Service: "es", AccessKeyID: "AKID", SecretAccessKey: "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	status, _, out := get(t, s.URL+"/")
	if status != http.StatusForbidden || out["message"] != "Missing Authentication Token" {
		t.Errorf("unsigned: %d %v", status, out)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/", nil)
	req.Header.Set("X-Amz-Date", "20261130T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261130/us-east-1/es/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("forged: status %d", res.StatusCode)
	}
	if st := s.Stats(); st.BadSignature != 2 || st.Signed != 0 {
		t.Errorf("stats %+v", st)
	}
}
