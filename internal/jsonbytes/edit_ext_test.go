package jsonbytes_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/internal/jsonbytes"
)

// TestDeleteMemberAgrees: deleting a member from the bytes of every object in
// generated events decodes to what deleting it from the decoded map gives.
func TestDeleteMemberAgrees(t *testing.T) {
	g := gen.New(5)
	checked := 0
	for i := 0; i < 300; i++ {
		var walk func(b []byte)
		walk = func(b []byte) {
			var obj map[string]json.RawMessage
			if json.Unmarshal(b, &obj) != nil {
				return
			}
			for key, val := range obj {
				got, changed := jsonbytes.DeleteMember(b, key)
				var want, have map[string]any
				if err := json.Unmarshal(b, &want); err != nil {
					t.Fatal(err)
				}
				delete(want, key)
				if err := json.Unmarshal(got, &have); err != nil || !changed || !reflect.DeepEqual(have, want) {
					t.Fatalf("delete %q from %.200s: got %.200s (%v, changed %v)", key, b, got, err, changed)
				}
				checked++
				walk(val)
			}
		}
		walk(g.Event(i))
	}
	if checked < 1000 {
		t.Fatalf("checked %d deletions", checked)
	}
}

// FuzzDeleteMember: for any JSON object in valid UTF-8 (what the functions are given:
// validated lines, or encoding/json's output), deleting a member from the bytes gives
// valid JSON that decodes to the object without that key.
func FuzzDeleteMember(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":{"c":[1,"}"]},"a":2}`), "a")
	f.Add([]byte(` { "k\u0065y" : "v" , "x" : null } `), "key")
	f.Fuzz(func(t *testing.T, b []byte, key string) {
		var want map[string]any
		if !utf8.Valid(b) || json.Unmarshal(b, &want) != nil || want == nil {
			return
		}
		_, had := want[key]
		delete(want, key)
		got, changed := jsonbytes.DeleteMember(b, key)
		var have map[string]any
		if err := json.Unmarshal(got, &have); err != nil {
			t.Fatalf("delete %q from %q: invalid JSON %q: %v", key, b, got, err)
		}
		if changed != had || !reflect.DeepEqual(have, want) {
			t.Fatalf("delete %q from %q: got %q (changed %v)", key, b, got, changed)
		}
	})
}
