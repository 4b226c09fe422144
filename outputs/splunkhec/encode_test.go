package splunkhec

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/auditship/auditship/internal/corpustest"
	"github.com/auditship/auditship/pipeline"
)

// BenchmarkEncode encodes envelopes for the recorded kube-apiserver corpus, events
// freshly read each round as the output gets them (no member decoded yet).
func BenchmarkEncode(b *testing.B) {
	lines := corpustest.KubeAuditLines(b)
	idx, err := parseTemplate("audit-%{objectRef.namespace}")
	if err != nil {
		b.Fatal(err)
	}
	enc := &encoder{index: idx, host: "node-a", sourcetype: DefaultSourcetype,
		sourcetypeR: DefaultSourcetypeKubeAuditRest, cluster: "prod-eu", now: time.Now}
	evs := make([]*pipeline.Event, len(lines))
	var buf []byte
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	b.SetBytes(size / int64(len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(lines)
		if j == 0 {
			b.StopTimer()
			for k, l := range lines {
				if evs[k], err = pipeline.NewRawEvent(l, pipeline.SourceAudit); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
		}
		if buf, _, err = enc.encode(buf[:0], evs[j]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAppendString: the envelope's strings are escaped byte for byte as json.Marshal
// escapes them, and decode back to what encoding/json makes of the input (invalid UTF-8
// replaced by U+FFFD).
func TestAppendString(t *testing.T) {
	cases := []string{
		"", "plain", `quo"te`, `back\slash`, "\\\"", "tab\tnl\nret\rbs\bff\f",
		"nul\x00 unit\x1f del\x7f", "<script>&amp;</script>",
		"line\u2028para\u2029end", "\u2027\u202a", "é ü 世界 🙂",
		"bad\xffbyte", "\xc3", "trunc\xe2\x82", "surrogate\xed\xa0\x80", "overlong\xc0\xaf",
		"\xf4\x90\x80\x80 beyond U+10FFFF", "mix \x01\xff\u2028\"<",
	}
	for c := 0; c < 0x80; c++ {
		cases = append(cases, string(rune(c))+"x")
	}
	for _, s := range cases {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got := appendString([]byte("prefix"), s)
		if string(got[:6]) != "prefix" || string(got[6:]) != string(want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got[6:], want)
			continue
		}
		var back, wantBack string
		if err := json.Unmarshal(got[6:], &back); err != nil {
			t.Errorf("appendString(%q) = %s: not JSON: %v", s, got[6:], err)
		}
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack || (utf8.ValidString(s) && back != s) {
			t.Errorf("appendString(%q) decodes to %q, want %q", s, back, wantBack)
		}
	}
}

// TestAppendEpoch: seconds, then six fraction digits for whole microseconds, nine
// otherwise, none for whole seconds.
func TestAppendEpoch(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"2025-03-04T12:00:00.123456Z", "1741089600.123456"},
		{"2025-03-04T12:00:00.000001Z", "1741089600.000001"},
		{"2025-03-04T12:00:00.1Z", "1741089600.100000"},
		{"2025-03-04T12:00:00.123456789Z", "1741089600.123456789"},
		{"2025-03-04T12:00:00.000000001Z", "1741089600.000000001"},
		{"2025-03-04T12:00:00.100000001Z", "1741089600.100000001"},
		{"2025-03-04T12:00:00Z", "1741089600"},
		{"2025-03-04T13:00:00.5+01:00", "1741089600.500000"},
		{"1970-01-01T00:00:00Z", "0"},
	} {
		tm, err := time.Parse(time.RFC3339Nano, c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(appendEpoch([]byte("x"), tm)); got != "x"+c.want {
			t.Errorf("appendEpoch(%s) = %s, want x%s", c.in, got, c.want)
		}
	}
}

// TestEncodeCorpus: every corpus event's envelope is one line of JSON whose indexed
// fields are the event's own values, read as encoding/json reads them.
func TestEncodeCorpus(t *testing.T) {
	idx, err := parseTemplate("audit-%{objectRef.namespace}")
	if err != nil {
		t.Fatal(err)
	}
	enc := &encoder{index: idx, host: "node-a", sourcetype: DefaultSourcetype,
		sourcetypeR: DefaultSourcetypeKubeAuditRest, cluster: "prod-eu", now: time.Now}
	for i, line := range corpustest.KubeAuditLines(t) {
		ev, err := pipeline.NewRawEvent(line, pipeline.SourceAudit)
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		out, _, err := enc.encode(nil, ev)
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		var env struct {
			Fields map[string]string `json:"fields"`
			Event  json.RawMessage   `json:"event"`
		}
		if err := json.Unmarshal(out, &env); err != nil {
			t.Fatalf("line %d: envelope not JSON: %v", i, err)
		}
		var src struct {
			Verb      string `json:"verb"`
			User      struct{ Username string }
			ObjectRef struct{ Resource, Subresource string }
		}
		if err := json.Unmarshal(line, &src); err != nil {
			t.Fatal(err)
		}
		res := src.ObjectRef.Resource
		if res != "" && src.ObjectRef.Subresource != "" {
			res += "/" + src.ObjectRef.Subresource
		}
		for _, f := range []struct{ k, want string }{{"verb", src.Verb}, {"user", src.User.Username}, {"resource", res}, {"cluster", "prod-eu"}} {
			if got := env.Fields[f.k]; got != f.want {
				t.Errorf("line %d: fields.%s = %q, want %q", i, f.k, got, f.want)
			}
		}
		if string(env.Event) != string(line) {
			t.Errorf("line %d: event is not the event's own bytes", i)
		}
	}
}
