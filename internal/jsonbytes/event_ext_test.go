package jsonbytes_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/auditship/auditship/internal/jsonbytes"
	"github.com/auditship/auditship/pipeline"
)

// TestRepeatedKeys: the fast path declines a line in which any object repeats a key as
// encoding/json decodes keys (escapes spelled out), since writing such a line as its
// bytes would carry the copies decoding does not show; keys with escapes that spell
// distinct keys stay on the fast path and decode as encoding/json decodes them.
func TestRepeatedKeys(t *testing.T) {
	big := func(extra string) string { // an object past jsonbytes.BigObject keys, then extra
		var b strings.Builder
		for i := range jsonbytes.BigObject + 8 {
			fmt.Fprintf(&b, `"k%d":%d,`, i, i)
		}
		return "{" + b.String() + extra + "}"
	}
	repeats := []string{
		`{"a":1,"a":2}`,
		`{"a":1,"b":{"c":1,"c":null}}`,
		`{"a":[{"x":1},{"y":{"z":1,"z":2}}]}`,
		`{"key":0,"k\u0065y":1}`,
		`{"k\u0065y":0,"key":1}`,
		`{"a":1,"\u0061":2}`,
		`{"o":{"\u0061":1,"a":2}}`,
		`{"o":{"a":1,"\u0061":2}}`,
		`{"o":{"\u0061":1,"\u0061":2}}`,
		`{"o":{"\u006a":1,"\u006A":2}}`, // hex digits in either case
		`{"o":{"\u00e9":1,"é":2}}`,      // non-ASCII, escaped and not
		`{"o":{"\u00E9":1,"\u00e9":2}}`,
		`{"o":{"\/":1,"/":2}}`,          // the escape of a character that needs none
		`{"o":{"a\"b":1,"a\u0022b":2}}`, // a quote, two ways
		`{"o":{"\\":1,"\u005c":2}}`,     // a backslash, two ways
		`{"o":{"\n":1,"\u000a":2}}`,     // a control character, two ways
		`{"o":{"\ud800":1,"\udbff":2}}`, // lone surrogates both decode to U+FFFD
		`{"o":{"\ud800":1,"\ufffd":2}}`,
		`{"o":{"\udc00":1,"` + "\xef\xbf\xbd" + `":2}}`,
		`{"o":{"\ud800\u0041":1,"\ufffdA":2}}`, // half a pair, then a letter
		`{"o":{"\ud83d\ude00":1,"😀":2}}`,       // a pair, and the character it spells
		`{"o":{"abcdefghij\u006b":1,"abcdefghijk":2}}`,
		`{"o":{"\u0061bcdefghijk":1,"abcdefghijk":2}}`,
		`{"k:{\"name\":\"app\"}":1,"k:{\u0022name\u0022:\u0022app\u0022}":2}`,
		`{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{},"k:{\"name\":\"app\"}":{".":{}}}}}`,
		`{"o":` + big(`"k\u0030":1`) + `}`, // past jsonbytes.BigObject, where keys are in a map
		big(`"\u006b1":1`),
		`{"a":` + big(`"\u0078":1,"x":2`) + `}`,
	}
	for _, raw := range repeats {
		if _, err := pipeline.NewRawEvent([]byte(raw), pipeline.SourceAudit); !errors.Is(err, jsonbytes.ErrRepeatedKey) {
			t.Errorf("%s: err %v, want jsonbytes.ErrRepeatedKey", raw, err)
		}
	}
	distinct := []string{
		`{"a":{"x":1},"b":{"x":1}}`, `{"a":[{"x":1},{"x":2}]}`, `{"ab":1,"a":2,"b":{"ab":1}}`,
		`{"a":{"k\u0065y":1}}`, `{"k\u0065y":1,"b":2}`,
		`{"o":{"a":1,"A":2}}`, `{"o":{"\u0061":1,"\u0041":2}}`, // keys differ by case
		`{"o":{"\\u0061":1,"a":2}}`, // a backslash, then u0061
		`{"o":{"a\\":1,"a\\\\":2}}`,
		`{"a":{"\u0061":1},"b":{"\u0061":1}}`, // the same escaped key in two objects
		`{"o":{"\ud83d\ude00":1,"\ud83d":2}}`,
		`{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{"f:ports":{"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{}}},"k:{\"name\":\"sidecar\"}":{}}}}`,
		`{"requestURI":"/api/v1/pods?a=1\u0026b=2","o":{"v:\"kubernetes\"":{}}}`,
		`{"o":` + big(`"k\u0030x":1`) + `}`,
	}
	for _, raw := range distinct {
		ev, err := pipeline.NewRawEvent([]byte(raw), pipeline.SourceAudit)
		if err != nil {
			t.Errorf("%s: not on the fast path: %v", raw, err)
			continue
		}
		var want map[string]any
		if err := jsonbytes.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatal(err)
		}
		if got := ev.Fields(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded %v, encoding/json %v", raw, got, want)
		}
	}
}

// TestBigObjects: objects with many keys (past jsonbytes.BigObject, where keys go into a map) are
// accepted when their keys are distinct and declined with jsonbytes.ErrRepeatedKey when one
// repeats, nested or at the top, wherever the repeat falls; siblings reuse the slots of
// the keys of objects that closed before them.
func TestBigObjects(t *testing.T) {
	obj := func(n int, dup int) string {
		var b strings.Builder
		b.WriteByte('{')
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"key-%d":%d`, i, i)
		}
		if dup >= 0 {
			fmt.Fprintf(&b, `,"key-%d":0`, dup)
		}
		b.WriteByte('}')
		return b.String()
	}
	tests := []struct {
		name string
		line string
		want error
	}{
		{"big nested", `{"a":` + obj(100000, -1) + `}`, nil},
		{"big nested, repeat of the first", `{"a":` + obj(100000, 0) + `}`, jsonbytes.ErrRepeatedKey},
		{"big nested, repeat of the last", `{"a":` + obj(100000, 99999) + `}`, jsonbytes.ErrRepeatedKey},
		{"just big, repeat", `{"a":` + obj(jsonbytes.BigObject, jsonbytes.BigObject-1) + `}`, jsonbytes.ErrRepeatedKey},
		{"big top level", obj(100000, -1), nil},
		{"big top level, repeat", obj(100000, 4242), jsonbytes.ErrRepeatedKey},
		{"big siblings", `{"a":[` + obj(100, -1) + `,` + obj(100, -1) + `,` + obj(40, -1) + `]}`, nil},
		{"big siblings, repeat in the last", `{"a":[` + obj(100, -1) + `,` + obj(100, 7) + `]}`, jsonbytes.ErrRepeatedKey},
		{"big inside big", `{"a":{"x":` + obj(50, -1) + `,` + obj(60, -1)[1:] + `}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jsonbytes.ScanObject([]byte(tt.line))
			if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
				t.Fatalf("scanObject = %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			// Decoding and splicing such an event are linear too.
			ev, err := pipeline.NewRawEvent([]byte(tt.line), pipeline.SourceAudit)
			if err != nil {
				t.Fatal(err)
			}
			n := len(ev.Fields())
			ev.SetField("added", "x")
			if err := ev.Settle(); err != nil {
				t.Fatal(err)
			}
			if got := len(ev.Fields()); got != n+1 {
				t.Fatalf("%d members after adding one to %d", got, n)
			}
		})
	}
}
