package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/auditship/auditship/internal/corpustest"
	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/internal/jsonbytes"
	"github.com/auditship/auditship/pipeline"
)

// reference is what the decoder did before the fast path: encoding/json into a map, with
// numbers as json.Number (their text).
func reference(line []byte) (map[string]any, error) {
	line = bytes.TrimPrefix(line, bom)
	var m map[string]any
	err := jsonbytes.Unmarshal(line, &m)
	return m, err
}

// agree checks that parse accepts exactly what encoding/json accepts (for UTF-8 objects)
// and decodes it to the same map, read member by member and whole.
func agree(t *testing.T, line []byte) {
	t.Helper()
	_, ev, err := parse(line, pipeline.SourceAudit)
	want, werr := reference(line)
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(line, bom), " \t")
	if werr == nil && (len(trimmed) == 0 || trimmed[0] != '{') {
		werr = ErrNotObject // `null` unmarshals into a nil map; parse rejects non-objects
	}
	if (err == nil) != (werr == nil) {
		t.Fatalf("parse error %v, encoding/json error %v, for %.200q", err, werr, line)
	}
	if err != nil {
		return
	}
	// A line whose objects repeat a key is never written as its bytes.
	if ev.Raw() != nil && repeatsKey(t, line) {
		t.Fatalf("line with a repeated key kept as its bytes: %.200q", line)
	}
	for k, v := range want {
		if got := ev.Field(k); !reflect.DeepEqual(got, v) {
			t.Fatalf("Field(%q) = %#v, want %#v", k, got, v)
		}
	}
	if got := ev.Fields(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Fields() = %#v, want %#v", got, want)
	}
	// Path reads nested members from the bytes (on a fresh event) and from the decoded
	// map (on ev), and both must be what encoding/json decoded.
	_, fresh, err := parse(line, pipeline.SourceAudit)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths(want, nil, 4) {
		v, ok := jsonbytes.Walk(want, p)
		for _, e := range []*pipeline.Event{fresh, ev} {
			got, gotOK := e.Path(p...)
			if gotOK != ok || !reflect.DeepEqual(got, v) {
				t.Fatalf("Path(%q) = %#v, %v; want %#v, %v", p, got, gotOK, v, ok)
			}
		}
	}
}

// repeatsKey reports whether an object of the valid JSON line repeats a key as
// encoding/json decodes keys: an independent reading with json.Decoder's tokens.
func repeatsKey(t *testing.T, line []byte) bool {
	t.Helper()
	type frame struct {
		obj, wantKey bool
		keys         map[string]bool
	}
	var stack []*frame
	d := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(line, bom)))
	for {
		tok, err := d.Token()
		if err != nil {
			return false // the end of the line (it was valid: encoding/json decoded it)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.wantKey {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return true
				}
				top.keys[k] = true
				top.wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, wantKey: true, keys: map[string]bool{}})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the object that holds it wants a key next.
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].wantKey = true
		}
	}
}

// paths lists the member paths of m down to depth, each with a sibling that is absent
// and a step through a non-object.
func paths(m map[string]any, prefix []string, depth int) [][]string {
	var out [][]string
	at := func(k string) []string { return append(append([]string(nil), prefix...), k) }
	out = append(out, at("\x00absent"))
	for k, v := range m {
		out = append(out, at(k), append(at(k), "x"))
		if sub, ok := v.(map[string]any); ok && depth > 1 {
			out = append(out, paths(sub, at(k), depth-1)...)
		}
	}
	return out
}

func TestFastPathAgreesWithEncodingJSON(t *testing.T) {
	lines := []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":1,"a":{"b":2}}`, `{"a":{"x":1},"a":{"y":2}}`,
		`{"n":-0,"f":1.5,"e":1e3,"E":-2.5E-3,"big":1e400,"tiny":1e-400}`,
		`{"s":"\u00e9\ud83d\ude00\ud800 lone","q":"\"\\\/\b\f\n\r\t"}`,
		`{"k\u0065y":"v","":""}`, `{"a":[],"b":[[]],"c":[{}],"d":[1,"x",null,true,false]}`,
		`{"a":1,}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":+1}`, `{"a":NaN}`, `{"a":tru}`,
		`{"a":"x` + "\x01" + `"}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a" 1}`, `{"a":1}x`, `{"a":1} {}`,
		`{'a':1}`, `{a:1}`, `{"a":[1,]}`, `{"a":[1 2]}`, `{"a":}`, `{"a":"` + strings.Repeat("9", 400) + `"}`,
		`{"n":` + strings.Repeat("9", 400) + `}`, `{"n":` + strings.Repeat("9", 200) + `}`,
		`{"deep":` + strings.Repeat("[", 250) + strings.Repeat("]", 250) + `}`,
		`{"deep":` + strings.Repeat("[", 9990) + strings.Repeat("]", 9990) + `}`,
		`{"deep":` + strings.Repeat("[", 200000) + strings.Repeat("]", 200000) + `}`,
		`{"deep":` + strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat("}", 20000) + `}`,
		"{\"a\":\n1\r\n}", `{"a":true,"b":false,"c":null}`,
		`{"u":"/api?a=1\u0026b=\u003c\u003e","s1":"\ud800\u0041","s2":"\udc00\ud800","s3":"x\ud83d","s4":"\ud83d\ude00\ud83d\ude00"}`,
		`{"s":"\ud800\ud800\udc00","t":"\uDBFF\uDFFF","k\u00e9":"\u0000\u001f"}`,
		`{"o":{"a":{"b":[1,{"c":"]}"}],"d":"x\"}"},"e":{},"f" : { "g" : -1.5e2 } },"p":null}`,
		`{"user":{"username":"u","groups":["a","b"],"extra":{"k":["v"]}},"objectRef":{"resource":"pods"}}`,
	}
	lines = append(lines, escapedKeyLines...)
	for _, l := range lines {
		agree(t, []byte(l))
	}
}

// TestFastPathCorpusAndGenerator: every corpus line and a generated mix decode the same
// way, and an event written after the bench filter chain is the same JSON either way.
func TestFastPathCorpusAndGenerator(t *testing.T) {
	g := gen.New(7)
	for i := 0; i < 3000; i++ {
		agree(t, g.Event(i))
		// The generator writes what kube-apiserver writes: all of it on the fast path.
		if _, err := pipeline.NewRawEvent(g.Event(i), pipeline.SourceAudit); err != nil {
			t.Fatalf("event %d not on the fast path: %v", i, err)
		}
	}
	kar := gen.New(8).WithFormat(gen.FormatKubeAuditRest)
	for i := 0; i < 500; i++ {
		agree(t, kar.Event(i))
	}
	n := 0
	corpustest.Lines(t, func(_ string, line []byte) {
		if l := bytes.TrimRight(line, " \t\r"); len(l) > 0 && bytes.HasPrefix(bytes.TrimLeft(l, " \t"), []byte("{")) {
			agree(t, l)
			n++
		}
	})
	if n == 0 {
		t.Fatal("no corpus lines checked")
	}
}

// escapedKeyLines are lines with keys that hold escapes: distinct keys the fast path
// takes, and keys that spell a repeat only once unescaped, which it must not write as
// their bytes.
var escapedKeyLines = []string{
	`{"auditID":"a","requestObject":{"metadata":{"managedFields":[{"fieldsV1":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:ports":{"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{}}}}}}}]}}}`,
	`{"auditID":"a","o":{"a":1,"\u0061":2}}`, `{"auditID":"a","\u0061uditID":"b"}`,
	`{"auditID":"a","o":{"\u006a":1,"\u006A":2}}`, `{"auditID":"a","o":{"\u0061":1,"\u0041":2}}`,
	`{"auditID":"a","o":{"\ud800":1,"\udfff":2}}`, `{"auditID":"a","o":{"\ud83d\ude00":1,"😀":2}}`,
	`{"auditID":"a","o":{"k:{\"type\":\"Ready\"}":{},"k:{\u0022type\u0022:\u0022Ready\u0022}":{"x":1}}}`,
	`{"auditID":"a","requestURI":"/api?a=1\u0026b=2","o":{"v:\"kubernetes\"":{},"\\u0061":1,"a":2}}`,
}

// FuzzFastPath: for any line, the fast path and encoding/json agree.
func FuzzFastPath(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"c\u0041"}],"d":1e5}`))
	f.Add([]byte(`{"s":"\ud800\u0041\ud83d\ude00\u0026\n","t":"\udc00"}`))
	f.Add(gen.New(1).Event(0))
	// Keys with escapes: managedFields' k:{...} keys, and keys that spell a repeat only
	// once unescaped.
	for _, l := range escapedKeyLines {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		line = bytes.TrimRight(line, " \t\r")
		if !utf8.Valid(line) {
			return // rejected before any JSON decoding
		}
		agree(t, line)
	})
}

// TestParseUTF8: a line that is not valid UTF-8 is ErrInvalidUTF8 wherever the bad bytes
// are (the fast path checks the bytes in strings; utf8.Valid decides on every line it does
// not take), whatever else is wrong with it; valid multi-byte text decodes as encoding/json
// decodes it.
func TestParseUTF8(t *testing.T) {
	invalid := []string{
		"{\"auditID\":\"a\xff\"}",                            // inside a string
		"{\"auditID\":\"abcdefghijkl\x80mnop\"}",             // a continuation byte alone
		"{\"k\xffey\":1,\"auditID\":\"a\"}",                  // in a top-level key
		"{\"o\":{\"k\xe2\x82\":1},\"auditID\":\"a\"}",        // in a nested key, cut short
		"{\"auditID\":\"a\",\"n\":1\xff}",                    // outside strings
		"{\"auditID\":\"a\"}\xc3",                            // after the object, cut short
		"\xa9{\"auditID\":\"a\"}",                            // before it: not an object either
		"\xff",                                               // nothing else
		"[\"\xff\"]",                                         // an array
		"{\"auditID\":\"\xc0\xaf\"}",                         // overlong '/'
		"{\"auditID\":\"\xe0\x80\xaf\"}",                     // overlong, three bytes
		"{\"auditID\":\"\xf0\x80\x80\xaf\"}",                 // overlong, four bytes
		"{\"auditID\":\"\xed\xa0\x80\"}",                     // U+D800, a surrogate
		"{\"auditID\":\"\xed\xbf\xbf\"}",                     // U+DFFF
		"{\"auditID\":\"\xf4\x90\x80\x80\"}",                 // above U+10FFFF
		"{\"auditID\":\"\xe2\x82",                            // cut short at the end of the line
		"{\"auditID\":\"a\",\"s\":\"\xf0\x9f\x98",            // four bytes cut short at the end
		"{\"auditID\":\"\xe2\x82\"}",                         // cut short before the quote
		"{\"auditID\":\"a\",\"x\":1,\"x\":\"\xff\"}",         // with a repeated key
		"{\"auditID\":\"a\",\"o\":{\"x\":1,\"x\":\"\xff\"}}", // a repeat the fast path sees first
		"{\"auditID\":\"a\xff\",}",                           // with a syntax error
		"{\"auditID\":\"a\",\"n\":1e5,\"s\":\"\xff\"}",       // with a number the fast path declines
		"\xef\xbb\xbf{\"auditID\":\"\xff\"}",                 // after a BOM
		"{\"auditID\":\"a\"}\xff \t\r",                       // before trailing whitespace
	}
	for _, l := range invalid {
		for _, f := range Formats {
			d, err := New(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Decode([]byte(l)); !errors.Is(err, ErrInvalidUTF8) {
				t.Errorf("%s: Decode(%q) error %v, want ErrInvalidUTF8", f, l, err)
			}
		}
	}
	valid := []string{
		`{"auditID":"é","k€y":"😀","t":"` + strings.Repeat("日本語", 20) + `"}`,
		"{\"auditID\":\"\xef\xbf\xbd\xf4\x8f\xbf\xbf\xc2\x80\xdf\xbf\xed\x9f\xbf\xee\x80\x80\"}",
		`{"auditID":"a","o":{"ключ":"значение","κλειδί":["τιμή",1]}}`,
		"\xef\xbb\xbf{\"auditID\":\"é\"}",
	}
	for _, l := range valid {
		agree(t, []byte(l))
		if _, err := pipeline.NewRawEvent([]byte(strings.TrimPrefix(l, "\xef\xbb\xbf")), pipeline.SourceAudit); err != nil {
			t.Errorf("%q not on the fast path: %v", l, err)
		}
	}
}

// FuzzParseUTF8: for any line, parse says ErrInvalidUTF8 exactly when the line (without a
// BOM and trailing whitespace) is not valid UTF-8, and agrees with encoding/json otherwise.
func FuzzParseUTF8(f *testing.F) {
	f.Add([]byte("{\"a\":\"\xed\xa0\x80\"}"))
	f.Add([]byte("{\"a\":[1,{\"b\":\"c\xc3\xa9\"}],\"d\xe2\x82\xac\":1e5}"))
	f.Add([]byte("{\"a\":1,\"a\":\"\xff\"}"))
	f.Add(gen.New(1).Event(0))
	for _, l := range escapedKeyLines {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		_, _, err := parse(line, pipeline.SourceAudit)
		trimmed := bytes.TrimRight(bytes.TrimPrefix(line, bom), " \t\r")
		if bad := !utf8.Valid(trimmed); bad != errors.Is(err, ErrInvalidUTF8) {
			t.Fatalf("parse(%q) error %v; invalid UTF-8: %v", line, err, bad)
		}
		if utf8.Valid(trimmed) {
			agree(t, bytes.TrimRight(line, " \t\r"))
		}
	})
}
