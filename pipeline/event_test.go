package pipeline

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/auditship/auditship/internal/jsonbytes"
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
			if err := jsonbytes.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			check := func(stage string) {
				b, err := ev.AppendJSON(nil)
				if err != nil {
					t.Fatal(err)
				}
				var got map[string]any
				if err := jsonbytes.Unmarshal(b, &got); err != nil {
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
			if _, err := e.EditMember("requestObject", func(b []byte) ([]byte, bool) { return jsonbytes.DeleteMember(b, "kind") }); err != nil {
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
