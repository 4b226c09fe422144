package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// testEvent decodes raw into an event as an input would.
func testEvent(t testing.TB, raw string) *pipeline.Event {
	t.Helper()
	var fields map[string]any
	if err := json.Unmarshal([]byte(raw), &fields); err != nil {
		t.Fatalf("bad test event %s: %v", raw, err)
	}
	return pipeline.NewEvent([]byte(raw), fields, pipeline.SourceAudit)
}

func TestIndexPattern(t *testing.T) {
	ts := time.Date(2025, 3, 4, 6, 22, 18, 0, time.UTC)
	tests := []struct {
		pattern  string
		want     string
		wildcard string
		err      string
	}{
		{pattern: DefaultIndex, want: "k8s-audit-2025.03.04", wildcard: "k8s-audit-*"},
		{pattern: "audit-%{+yyyy.MM.dd.HH}", want: "audit-2025.03.04.06", wildcard: "audit-*"},
		{pattern: "audit-%{+yy}-x-%{+MM}", want: "audit-25-x-03", wildcard: "audit-*-x-*"},
		{pattern: "audit", want: "audit", wildcard: "audit"},
		{pattern: "", err: "must not be empty"},
		{pattern: "Audit-%{+yyyy}", err: "lowercase"},
		{pattern: "audit-%{+yyyy", err: "unterminated"},
		{pattern: "audit-%{[verb]}", err: "only date formats"},
		{pattern: "audit-%{+yyyy.ww}", err: "unsupported date token"},
		{pattern: "_audit", err: "must not start"},
		{pattern: "audit,other", err: "must not contain"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			p, err := parseIndexPattern(tt.pattern)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.format(ts); got != tt.want {
				t.Errorf("format = %q, want %q", got, tt.want)
			}
			if got := p.wildcard(); got != tt.wildcard {
				t.Errorf("wildcard = %q, want %q", got, tt.wildcard)
			}
		})
	}
}

func TestIndexNamerCachesPerDay(t *testing.T) {
	p, err := parseIndexPattern(DefaultIndex)
	if err != nil {
		t.Fatal(err)
	}
	n := indexNamer{p: p}
	day := time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{day.Add(time.Hour), "k8s-audit-2025.03.04"},
		{day.Add(23 * time.Hour), "k8s-audit-2025.03.04"},
		{day.Add(24 * time.Hour), "k8s-audit-2025.03.05"},
		{day.Add(-time.Nanosecond), "k8s-audit-2025.03.03"},
		// A non-UTC timestamp is indexed by its UTC day.
		{time.Date(2025, 3, 4, 23, 30, 0, 0, time.FixedZone("x", -2*3600)), "k8s-audit-2025.03.05"},
	} {
		if got := n.name(tc.t); got != tc.want {
			t.Errorf("name(%s) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestEventTime(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, raw string
		want      time.Time
	}{
		{"requestReceived first", `{"requestReceivedTimestamp":"2025-03-04T06:22:18.819232Z","stageTimestamp":"2025-03-05T00:00:00Z"}`,
			time.Date(2025, 3, 4, 6, 22, 18, 819232000, time.UTC)},
		{"stage fallback", `{"stageTimestamp":"2025-03-05T00:00:00Z"}`, time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"kube-audit-rest timestamp", `{"timestamp":"2025-03-06T01:02:03+02:00"}`, time.Date(2025, 3, 5, 23, 2, 3, 0, time.UTC)},
		{"unparsable falls through", `{"requestReceivedTimestamp":"yesterday","stageTimestamp":"2025-03-05T00:00:00Z"}`,
			time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"none is now", `{"verb":"get"}`, now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := eventTime(testEvent(t, tt.raw), now)
			if !got.Equal(tt.want) {
				t.Errorf("eventTime = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDocID(t *testing.T) {
	a := testEvent(t, `{"auditID":"a1","stage":"ResponseComplete","verb":"get"}`)
	aAgain := testEvent(t, `{"auditID":"a1","stage":"ResponseComplete","verb":"get"}`)
	aChanged := testEvent(t, `{"auditID":"a1","stage":"ResponseComplete","verb":"get","extra":1}`)
	aCreate := testEvent(t, `{"auditID":"a1","stage":"ResponseComplete","verb":"create"}`)
	aStarted := testEvent(t, `{"auditID":"a1","stage":"ResponseStarted","verb":"get"}`)
	b := testEvent(t, `{"auditID":"b1","stage":"ResponseComplete","verb":"get"}`)
	noID1 := testEvent(t, `{"verb":"get","x":1}`)
	noID2 := testEvent(t, `{"verb":"get","x":2}`)
	id := func(ev *pipeline.Event) string {
		body, err := ev.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		return deriveDocID(body).String()
	}
	tests := []struct {
		name string
		x, y *pipeline.Event
		same bool
	}{
		{"same event, same id", a, a, true},
		{"same bytes read twice, same id", a, aAgain, true},
		// auditID comes from a client-settable header: a reused one must not merge.
		{"same auditID and stage, other verb: other id", a, aCreate, false},
		{"a changed body (redaction, another config) is another document", a, aChanged, false},
		{"other stage, other id", a, aStarted, false},
		{"other auditID, other id", a, b, false},
		{"no auditID: content decides", noID1, noID2, false},
		{"no auditID: replay same id", noID1, noID1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, y := id(tt.x), id(tt.y)
			if (x == y) != tt.same {
				t.Errorf("ids %s and %s: same = %v, want %v", x, y, x == y, tt.same)
			}
			if len(x) != 64 || strings.Trim(x, "0123456789abcdef") != "" {
				t.Errorf("id %q is not 64 hex digits", x)
			}
		})
	}
}

func TestEncodeNDJSON(t *testing.T) {
	p, err := parseIndexPattern(DefaultIndex)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }
	b := pipeline.Batch{
		testEvent(t, `{"auditID":"a","stage":"ResponseComplete","requestReceivedTimestamp":"2025-03-04T06:22:18Z"}`),
		testEvent(t, `{"auditID":"b","stage":"ResponseComplete"}`),
	}
	tests := []struct {
		name       string
		dataStream string
		wantIndex  []string
		wantTS     []string
	}{
		{"index", "", []string{"k8s-audit-2025.03.04", "k8s-audit-2030.01.01"}, []string{"", ""}},
		{"data stream", "logs-k8s.audit-default", []string{"logs-k8s.audit-default", "logs-k8s.audit-default"},
			[]string{"2025-03-04T06:22:18Z", "2030-01-01T00:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &encoder{pattern: p, dataStream: tt.dataStream, now: now}
			body, items, bad := e.encode(nil, b)
			if len(bad) != 0 || len(items) != 2 {
				t.Fatalf("items %d, bad %v", len(items), bad)
			}
			if !bytes.HasSuffix(body, []byte("\n")) {
				t.Error("body must end with a newline")
			}
			lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
			if len(lines) != 4 {
				t.Fatalf("got %d lines, want 4:\n%s", len(lines), body)
			}
			for i := range 2 {
				var action map[string]map[string]string
				if err := json.Unmarshal([]byte(lines[2*i]), &action); err != nil {
					t.Fatalf("action line %q: %v", lines[2*i], err)
				}
				c := action["create"]
				if c["_index"] != tt.wantIndex[i] || c["_id"] != items[i].id.String() || c["_index"] != items[i].index {
					t.Errorf("action %d = %v, want create in %s with id %s", i, c, tt.wantIndex[i], items[i].id)
				}
				var doc map[string]any
				if err := json.Unmarshal([]byte(lines[2*i+1]), &doc); err != nil {
					t.Fatalf("source line %q: %v", lines[2*i+1], err)
				}
				ts, _ := doc["@timestamp"].(string)
				if ts != tt.wantTS[i] {
					t.Errorf("@timestamp = %q, want %q", ts, tt.wantTS[i])
				}
			}

			var z bytes.Buffer
			if err := e.gzipBody(&z, body); err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(&z)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(plain, body) {
				t.Errorf("gzip round trip differs (err %v)", err)
			}
		})
	}
}

func TestInjectTimestamp(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{`{"a":1}`, `{"@timestamp":"T","a":1}`, ""},
		{`{}`, `{"@timestamp":"T"}`, ""},
		{` { "a":1}`, ` {"@timestamp":"T", "a":1}`, ""},
		{`[1]`, "", "not a JSON object"},
	}
	for _, tt := range tests {
		got, err := injectTimestamp([]byte(tt.in), "T")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("inject(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
		if !json.Valid(got) {
			t.Errorf("inject(%s) = %s is not valid JSON", tt.in, got)
		}
	}
}

func TestParseBulkResponse(t *testing.T) {
	body := `{"took":3,"errors":true,"items":[
		{"create":{"_index":"i","_id":"1","status":201,"result":"created"}},
		{"create":{"_index":"i","_id":"2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists","index":".ds-i-2026.11.30-000001"}}},
		{"index":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"busy"}}}]}`
	var p fastjson.Parser
	got, err := parseBulkResponse(&p, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []itemResult{{201, "", "", ""}, {409, "", "", ".ds-i-2026.11.30-000001"}, {429, "es_rejected_execution_exception", "busy", ""}}
	if len(got) != len(want) {
		t.Fatalf("got %d items, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("item %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := parseBulkResponse(&p, []byte(`{"items":[`)); err == nil {
		t.Error("a truncated response must be an error")
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2025, 3, 4, 6, 0, 0, 0, time.UTC)
	tests := []struct {
		h    string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"-1", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.h, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tt.h, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "pw")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(c *Config)
		want []string // substrings; none means valid
	}{
		{"minimal", func(c *Config) {}, nil},
		{"password file", func(c *Config) { c.Username, c.PasswordFile = "elastic", secret }, nil},
		{"cloud id", func(c *Config) { c.Addresses, c.CloudID = nil, "name:abc" }, nil},
		{"data stream", func(c *Config) { c.DataStream = "logs-k8s.audit-default" }, nil},
		{"no address", func(c *Config) { c.Addresses = nil }, []string{"addresses: at least one"}},
		{"both address and cloud", func(c *Config) { c.CloudID = "x:y" }, []string{"cloud_id: set either"}},
		{"bad url", func(c *Config) { c.Addresses = []string{"es:9200"} }, []string{"addresses[0]:"}},
		{"credentials in url", func(c *Config) { c.Addresses = []string{"https://u:p@es:9200"} }, []string{"must not carry credentials"}},
		{"password inline and file", func(c *Config) { c.Username, c.Password, c.PasswordFile = "u", "p", secret },
			[]string{"password_file: set either password or password_file"}},
		{"missing secret file", func(c *Config) { c.APIKeyFile = filepath.Join(dir, "nope") }, []string{"api_key_file:"}},
		{"user without password", func(c *Config) { c.Username = "u" }, []string{"password: username is set"}},
		{"two auth methods", func(c *Config) { c.APIKey, c.BearerToken = "k", "t" }, []string{"choose one of"}},
		{"cert without key", func(c *Config) { c.TLS.CertFile = secret }, []string{"tls: cert_file and key_file"}},
		{"index and data stream", func(c *Config) { c.Index, c.DataStream = "x", "y" }, []string{"data_stream: set either"}},
		{"bad index", func(c *Config) { c.Index = "Audit" }, []string{"index:", "lowercase"}},
		{"bad enums", func(c *Config) { c.Compression, c.TemplateBodies = "zstd", "text" },
			[]string{"compression: unknown value", "template_bodies: unknown value"}},
		{"non-positive numbers", func(c *Config) {
			c.BatchMaxBytes, c.BatchMaxEvents, c.Concurrency, c.FlushInterval, c.RequestTimeout = 0, 0, 0, 0, 0
		}, []string{"batch_max_bytes", "batch_max_events", "concurrency", "flush_interval", "request_timeout"}},
		{"backoff order", func(c *Config) { c.RetryMax = time.Millisecond }, []string{"retry_max_backoff"}},
		{"opensearch", func(c *Config) { c.Compatibility = CompatOpenSearch }, nil},
		{"bad compatibility", func(c *Config) { c.Compatibility = "solr" }, []string{"compatibility: unknown value"}},
		{"sigv4 es", func(c *Config) { c.AWSSigV4 = SigV4Config{Region: "eu-west-1", Service: "es"} }, nil},
		{"sigv4 aoss", func(c *Config) {
			c.AWSSigV4, c.Compatibility = SigV4Config{Region: "us-east-1", Service: "aoss"}, CompatOpenSearch
		}, nil},
		{"sigv4 without region", func(c *Config) { c.AWSSigV4.Service = "es" }, []string{"aws_sigv4.region: is required"}},
		{"sigv4 without service", func(c *Config) { c.AWSSigV4.Region = "eu-west-1" }, []string{"aws_sigv4.service: is required"}},
		{"sigv4 bad service", func(c *Config) { c.AWSSigV4 = SigV4Config{Region: "r", Service: "s3"} }, []string{"aws_sigv4.service: unknown value"}},
		{"sigv4 and basic auth", func(c *Config) {
			c.AWSSigV4, c.Username, c.Password = SigV4Config{Region: "r", Service: "es"}, "u", "p"
		}, []string{"aws_sigv4: cannot be combined"}},
		{"sigv4 to elasticsearch", func(c *Config) {
			c.AWSSigV4, c.Compatibility = SigV4Config{Region: "r", Service: "es"}, CompatElasticsearch
		}, []string{"compatibility: is elasticsearch"}},
		{"cloud id to opensearch", func(c *Config) {
			c.Addresses, c.CloudID, c.Compatibility = nil, "name:abc", CompatOpenSearch
		}, []string{"compatibility: is opensearch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Addresses = []string{"http://127.0.0.1:9200"}
			tt.mod(c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %v", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	c := DefaultConfig()
	c.Password, c.APIKey, c.BearerToken = "hunter2", "apikey-value", "bearer-value"
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := sprintf(format, c)
		for _, s := range []string{"hunter2", "apikey-value", "bearer-value"} {
			if strings.Contains(out, s) {
				t.Errorf("%s of the config shows a secret: %s", format, out)
			}
		}
	}
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "key")
	if err := os.WriteFile(f, []byte("  key-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if v, err := readSecret("api_key", "", f); err != nil || v != "key-value" {
		t.Errorf("readSecret = %q, %v", v, err)
	}
	if v, err := readSecret("api_key", "inline", ""); err != nil || v != "inline" {
		t.Errorf("readSecret inline = %q, %v", v, err)
	}
	if _, err := readSecret("api_key", "", empty); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty file: err = %v", err)
	}
}

// parsedTemplate is what tests read of an index template body.
type parsedTemplate struct {
	IndexPatterns []string `json:"index_patterns"`
	DataStream    any      `json:"data_stream"`
	Template      struct {
		Mappings struct {
			Properties map[string]map[string]any `json:"properties"`
		} `json:"mappings"`
	} `json:"template"`
}

func parseTemplate(t testing.TB, raw []byte) parsedTemplate {
	t.Helper()
	var tmpl parsedTemplate
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// TestIndexTemplatePerCluster: the open-ended objects get the type the distribution has.
func TestIndexTemplatePerCluster(t *testing.T) {
	tests := []struct {
		c    cluster
		want map[string]any
	}{
		{cluster{version: "7.17.25", major: 7, minor: 17}, map[string]any{"type": "flattened", "ignore_above": 8191.0, "depth_limit": 1000.0}},
		{cluster{openSearch: true, version: "2.19.1", major: 2, minor: 19}, map[string]any{"type": "flat_object"}},
		{cluster{openSearch: true, version: "2.7.0", major: 2, minor: 7}, map[string]any{"type": "flat_object"}},
		{cluster{openSearch: true, version: "2.8.0", major: 2, minor: 8}, map[string]any{"type": "flat_object"}},
		{cluster{openSearch: true, version: "2.6.0", major: 2, minor: 6}, map[string]any{"type": "object", "enabled": false}},
		{cluster{openSearch: true, version: "1.3.20", major: 1, minor: 3}, map[string]any{"type": "object", "enabled": false}},
		{cluster{openSearch: true}, map[string]any{"type": "object", "enabled": false}},
	}
	for _, tt := range tests {
		raw, err := indexTemplate("k8s-audit-*", false, "flattened", tt.c)
		if err != nil {
			t.Fatal(err)
		}
		props := parseTemplate(t, raw).Template.Mappings.Properties
		for _, f := range []string{"requestObject", "responseObject", "oldObject", "annotations"} {
			if got := sprintf("%v", props[f]); got != sprintf("%v", tt.want) {
				t.Errorf("%s: %s = %s, want %v", tt.c, f, got, tt.want)
			}
		}
		// Below the root, flat_object needs OpenSearch 2.9.
		wantInner := sprintf("%v", tt.want)
		if tt.c.openSearch && !tt.c.atLeast(2, 9) {
			wantInner = sprintf("%v", map[string]any{"type": "object", "enabled": false})
		}
		user, _ := props["user"]["properties"].(map[string]any)
		status, _ := props["responseStatus"]["properties"].(map[string]any)
		for name, got := range map[string]any{"user.extra": user["extra"], "responseStatus.details": status["details"]} {
			if sprintf("%v", got) != wantInner {
				t.Errorf("%s: %s = %v, want %s", tt.c, name, got, wantInner)
			}
		}
	}
}

func TestIndexTemplate(t *testing.T) {
	for _, bodies := range []string{"flattened", "disabled"} {
		raw, err := indexTemplate("k8s-audit-*", false, bodies, cluster{version: "8.19.0", major: 8, minor: 19})
		if err != nil {
			t.Fatal(err)
		}
		tmpl := parseTemplate(t, raw)
		props := tmpl.Template.Mappings.Properties
		if tmpl.IndexPatterns[0] != "k8s-audit-*" || tmpl.DataStream != nil {
			t.Errorf("patterns %v, data_stream %v", tmpl.IndexPatterns, tmpl.DataStream)
		}
		checks := map[string]string{"verb": "keyword", "sourceIPs": "ip", "requestReceivedTimestamp": "date", "annotations": "flattened"}
		for f, typ := range checks {
			if props[f]["type"] != typ {
				t.Errorf("%s: %s is %v, want %s", bodies, f, props[f]["type"], typ)
			}
		}
		for _, f := range []string{"requestObject", "responseObject", "oldObject"} {
			switch bodies {
			case "flattened":
				if props[f]["type"] != "flattened" {
					t.Errorf("%s is %v, want flattened", f, props[f])
				}
			case "disabled":
				if props[f]["enabled"] != false {
					t.Errorf("%s is %v, want enabled: false", f, props[f])
				}
			}
		}
	}
	raw, err := indexTemplate("logs-k8s-default", true, "flattened", cluster{version: "8.19.0", major: 8, minor: 19})
	if err != nil || !bytes.Contains(raw, []byte(`"data_stream":{}`)) {
		t.Errorf("data stream template lacks data_stream: %s (%v)", raw, err)
	}
}

func sprintf(format string, v any) string { return fmt.Sprintf(format, v) }

// TestConfigLoads decodes a YAML section through the real loader: every key, nested tls,
// sizes, durations and the secret type.
func TestConfigLoads(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "c.yaml")
	yaml := `data_dir: ` + dir + `
inputs:
  in: {type: fake}
outputs:
  siem:
    type: elasticsearch
    addresses: ["https://127.0.0.1:9200"]
    username: auditship
    password_file: ` + pw + `
    tls: {insecure_skip_verify: true}
    index: "audit-%{+yyyy.MM}"
    setup_template: true
    template_bodies: disabled
    batch_max_bytes: 2MiB
    batch_max_events: 100
    flush_interval: 250ms
    concurrency: 4
    request_timeout: 30s
    compression: none
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	f := config.Factories{
		Inputs:  map[string]config.InputFactory{"fake": {Type: "fake", NewConfig: func() any { return &struct{}{} }}},
		Outputs: map[string]config.OutputFactory{TypeName: NewFactory()},
	}
	cfg, err := config.Load(path, f)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Outputs[0].Config.(*Config)
	if c.PasswordFile != pw || !c.TLS.InsecureSkipVerify || c.BatchMaxBytes != 2<<20 || c.FlushInterval != 250*time.Millisecond ||
		c.Concurrency != 4 || c.Compression != "none" || c.TemplateBodies != "disabled" || c.Index != "audit-%{+yyyy.MM}" {
		t.Errorf("decoded %+v", c)
	}
	opts := Options(c)
	if opts.Batch.MaxEvents != 100 || opts.Batch.MaxBytes != 2<<20 || opts.Concurrency != 4 {
		t.Errorf("options %+v", opts)
	}

	bad := strings.Replace(yaml, "compression: none", "compression: brotli\n    bogus: 1", 1)
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = config.Load(path, f)
	if err == nil || !strings.Contains(err.Error(), "outputs.siem.bogus: unknown key") {
		t.Errorf("unknown key not reported: %v", err)
	}
}

func TestParseInfo(t *testing.T) {
	tests := []struct {
		name, body string
		want       string // cluster.String(), or the error's start
		objectType string
	}{
		{"elasticsearch 8", `{"version":{"number":"8.19.0","build_flavor":"default"},"tagline":"You Know, for Search"}`, "Elasticsearch 8.19.0", "flattened"},
		{"elasticsearch 7.17", `{"version":{"number":"7.17.25"},"tagline":"You Know, for Search"}`, "Elasticsearch 7.17.25", "flattened"},
		{"elasticsearch OSS 7.10", `{"version":{"number":"7.10.2","build_flavor":"oss"},"tagline":"You Know, for Search"}`, "Elasticsearch OSS 7.10.2", ""},
		{"opensearch 2.19", `{"version":{"distribution":"opensearch","number":"2.19.1"},"tagline":"The OpenSearch Project: https://opensearch.org/"}`, "OpenSearch 2.19.1", "flat_object"},
		{"opensearch 2.6", `{"version":{"distribution":"opensearch","number":"2.6.0"}}`, "OpenSearch 2.6.0", ""},
		{"opensearch 3", `{"version":{"distribution":"opensearch","number":"3.1.0"}}`, "OpenSearch 3.1.0", "flat_object"},
		{"opensearch 1 posing as 7.10.2", `{"version":{"number":"7.10.2"},"tagline":"The OpenSearch Project: https://opensearch.org/"}`, "OpenSearch (version unknown)", ""},
		{"no version", `{"tagline":"hello"}`, "GET / answered without version.number", ""},
		{"not json", `<html>`, "GET / answered with something other than JSON", ""},
		{"odd version", `{"version":{"number":"latest"}}`, `GET / reported version "latest"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseInfo([]byte(tt.body))
			got := c.String()
			if err != nil {
				got = err.Error()
			}
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("parseInfo = %q, want %q", got, tt.want)
			}
			if err == nil && c.objectType() != tt.objectType {
				t.Errorf("objectType = %q, want %q", c.objectType(), tt.objectType)
			}
		})
	}
}
