package pipeline_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/pipeline"
)

// TestJSONDeleteMemberAgrees: deleting a member from the bytes of every object in
// generated events decodes to what deleting it from the decoded map gives.
func TestJSONDeleteMemberAgrees(t *testing.T) {
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
				got, changed := pipeline.JSONDeleteMember(b, key)
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
