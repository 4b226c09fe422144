package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestEventChangesAndSettle: members deleted and set on a lazily decoded event are written
// as the original members spliced with the changes, read back the same before and after
// Settle. (A repeated key makes the fast path decline: TestRepeatedKeys.)
func TestEventChangesAndSettle(t *testing.T) {
	raw := `{"key":"v","big":{"x":[1,2,{"y":"z"}]},"a":{"n":2},"level":"RequestResponse","s":"\ud800"}`
	tests := []struct {
		name   string
		change func(*Event)
		want   string
	}{
		{"unchanged", func(*Event) {}, raw},
		{"delete", func(e *Event) { e.DeleteField("big") }, `{"key":"v","a":{"n":2},"level":"RequestResponse","s":"\ufffd"}`},
		{"delete another", func(e *Event) { e.DeleteField("a") }, `{"key":"v","big":{"x":[1,2,{"y":"z"}]},"level":"RequestResponse","s":"\ufffd"}`},
		{"set existing", func(e *Event) { e.SetField("level", "Metadata") }, `{"a":{"n":2},"key":"v","big":{"x":[1,2,{"y":"z"}]},"level":"Metadata","s":"\ufffd"}`},
		{"set key", func(e *Event) { e.SetField("key", []any{"w"}) }, `{"a":{"n":2},"key":["w"],"big":{"x":[1,2,{"y":"z"}]},"level":"RequestResponse","s":"\ufffd"}`},
		{"set new, delete, set again", func(e *Event) {
			e.SetField("new", "x\"y")
			e.DeleteField("new")
			e.SetField("new2", json.Number("3.5"))
			e.DeleteField("level")
		}, `{"a":{"n":2},"key":"v","big":{"x":[1,2,{"y":"z"}]},"s":"\ufffd","new2":3.5}`},
		{"mutated", func(e *Event) {
			e.Field("big").(map[string]any)["x"] = nil // read, then declared changed
			e.MutableFields()
		}, `{"a":{"n":2},"key":"v","big":{"x":null},"level":"RequestResponse","s":"\ufffd"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := NewRawEvent([]byte(raw), SourceAudit)
			if err != nil {
				t.Fatal(err)
			}
			ev.Field("a") // decoded before the change, as filters do
			tc.change(ev)
			var want map[string]any
			if err := DecodeJSON([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			check := func(stage string) {
				b, err := ev.AppendJSON(nil)
				if err != nil {
					t.Fatal(err)
				}
				var got map[string]any
				if err := DecodeJSON(b, &got); err != nil {
					t.Fatalf("%s: wrote invalid JSON %s: %v", stage, b, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: wrote %s, want %s", stage, b, tc.want)
				}
				for k, v := range want {
					if g := ev.Field(k); !reflect.DeepEqual(g, v) {
						t.Fatalf("%s: Field(%q) = %v, want %v", stage, k, g, v)
					}
				}
				if !reflect.DeepEqual(ev.Fields(), want) {
					t.Fatalf("%s: Fields() = %v, want %v", stage, ev.Fields(), want)
				}
			}
			check("before Settle")
			ev2, _ := NewRawEvent([]byte(raw), SourceAudit)
			ev2.Field("a")
			tc.change(ev2)
			ev = ev2
			if err := ev.Settle(); err != nil {
				t.Fatal(err)
			}
			if ev.Dirty() {
				t.Fatal("settled event still dirty")
			}
			check("after Settle")
			ev.DeleteField("s") // a per-output filter changing a settled event
			delete(want, "s")
			check("changed after Settle")
		})
	}
}

// TestSpecial8 checks the eight-byte test against the byte table for every byte value in
// every position.
func TestSpecial8(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			var w [8]byte
			for i := range w {
				w[i] = 'a'
			}
			w[pos] = byte(c)
			x := uint64(0)
			for i := 7; i >= 0; i-- {
				x = x<<8 | uint64(w[i])
			}
			if got, want := special8(x), !plain[c]; got != want {
				t.Fatalf("byte %#x at %d: special8 = %v, want %v", c, pos, got, want)
			}
		}
	}
}

// TestRepeatedKeys: the fast path declines a line in which any object repeats a key as
// encoding/json decodes keys (escapes spelled out), since writing such a line as its
// bytes would carry the copies decoding does not show; keys with escapes that spell
// distinct keys stay on the fast path and decode as encoding/json decodes them.
func TestRepeatedKeys(t *testing.T) {
	big := func(extra string) string { // an object past bigObject keys, then extra
		var b strings.Builder
		for i := range bigObject + 8 {
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
		`{"o":` + big(`"k\u0030":1`) + `}`, // past bigObject, where keys are in a map
		big(`"\u006b1":1`),
		`{"a":` + big(`"\u0078":1,"x":2`) + `}`,
	}
	for _, raw := range repeats {
		if _, err := NewRawEvent([]byte(raw), SourceAudit); !errors.Is(err, ErrRepeatedKey) {
			t.Errorf("%s: err %v, want ErrRepeatedKey", raw, err)
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
		ev, err := NewRawEvent([]byte(raw), SourceAudit)
		if err != nil {
			t.Errorf("%s: not on the fast path: %v", raw, err)
			continue
		}
		var want map[string]any
		if err := DecodeJSON([]byte(raw), &want); err != nil {
			t.Fatal(err)
		}
		if got := ev.Fields(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded %v, encoding/json %v", raw, got, want)
		}
	}
}

func TestMayContain(t *testing.T) {
	const line = `{"kind":"Event","verb":"get","requestObject":{"kind":"Secret","data":{"k":"djE="}},"annotations":{"a/b":"x"}}`
	tests := []struct {
		name   string
		change func(e *Event)
		marker string
		want   bool
	}{
		{"in a member", nil, `"Secret`, true},
		{"in a key", nil, `"annotations"`, true},
		{"absent", nil, `"TokenReview`, false},
		{"only in a removed body", func(e *Event) { e.DeleteField("requestObject") }, `"Secret`, false},
		{"in a set string", func(e *Event) { e.SetField("level", "Secretive") }, `Secretive`, true},
		{"across a set member's key and value", func(e *Event) { e.SetField("verb", "list") }, `"verb":"list"`, true},
		{"a set member's old value", func(e *Event) { e.SetField("verb", "list") }, `"get"`, false},
		{"in an edited body", func(e *Event) {
			if _, err := e.EditMember("annotations", func([]byte) ([]byte, bool) { return []byte(`{"z":"TokenReview"}`), true }); err != nil {
				t.Fatal(err)
			}
		}, `TokenReview`, true},
		{"edited away", func(e *Event) {
			if _, err := e.EditMember("requestObject", func(b []byte) ([]byte, bool) { return JSONDeleteMember(b, "kind") }); err != nil {
				t.Fatal(err)
			}
		}, `"Secret`, false},
		{"changed as a map", func(e *Event) { e.MutableFields() }, `"TokenReview`, true},
		{"last member kept after a removal", func(e *Event) { e.DeleteField("verb") }, `"a/b"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewRawEvent([]byte(line), SourceAudit)
			if err != nil {
				t.Fatal(err)
			}
			if tt.change != nil {
				tt.change(e)
			}
			if got := e.MayContain([]byte(tt.marker)); got != tt.want {
				t.Fatalf("MayContain(%s) = %v, want %v", tt.marker, got, tt.want)
			}
			// A false must be borne out by what is written.
			out, err := e.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want && bytes.Contains(out, []byte(tt.marker)) {
				t.Fatalf("MayContain said no, but %s is written: %s", tt.marker, out)
			}
		})
	}
}

// TestMayHaveKey: a member spelled with escapes is found as the key it decodes to; false
// only when no spelling of the key can be there.
func TestMayHaveKey(t *testing.T) {
	tests := []struct {
		line, key string
		want      bool
	}{
		{`{"o":{"managedFields":[]}}`, "managedFields", true},
		{`{"o":{"m\u0061nagedFields":[]}}`, "managedFields", true},
		{`{"o":{"\u006d\u0061\u006e\u0061\u0067\u0065\u0064\u0046\u0069\u0065\u006c\u0064\u0073":[]}}`, "managedFields", true},
		{`{"o":{"managedFieldsX":[]}}`, "managedFields", false},
		{`{"o":{"k:{\"name\":\"managedFields\"}":{}}}`, "managedFields", false},
		{`{"o":{"a\/b":1}}`, "a/b", true},
		{`{"o":{"a/b":1}}`, "a/b", true},
		{`{"o":{"ab":1}}`, "a/b", false},
		{`{"o":{"x":"\u0026"}}`, "managedFields", true}, // an escape elsewhere: cannot tell
	}
	for _, tt := range tests {
		e, err := NewRawEvent([]byte(tt.line), SourceAudit)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.MayHaveKey(tt.key); got != tt.want {
			t.Errorf("%s: MayHaveKey(%q) = %v, want %v", tt.line, tt.key, got, tt.want)
		}
	}
}
