package pipeline

import "testing"

// OutBytes is the size of each event as it will be written plus its newline: raw,
// settled after a change, changed after settling, and built from a map alike.
func TestBatchOutBytes(t *testing.T) {
	raw := func(s string) *Event {
		ev, err := NewRawEvent([]byte(s), SourceAudit)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	unchanged := raw(`{"auditID":"a","verb":"get","requestObject":{"x":1}}`)
	settled := raw(`{"auditID":"b","verb":"get","requestObject":{"x":1}}`)
	settled.DeleteField("requestObject")
	if err := settled.Settle(); err != nil {
		t.Fatal(err)
	}
	changed := raw(`{"auditID":"c","verb":"get"}`)
	if err := changed.Settle(); err != nil {
		t.Fatal(err)
	}
	changed.SetField("verb", "list-with-a-longer-name")
	built := NewEvent(nil, map[string]any{"auditID": "d", "verb": "watch"}, SourceAudit)
	b := Batch{unchanged, settled, changed, built}
	want := 0
	for _, ev := range b {
		out, err := ev.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		want += len(out) + 1
	}
	if got := b.OutBytes(); got != want {
		t.Errorf("OutBytes %d, want %d (the written lines)", got, want)
	}
	if got := (Batch{unchanged}).OutBytes(); got != len(`{"auditID":"a","verb":"get","requestObject":{"x":1}}`)+1 {
		t.Errorf("unchanged event: %d", got)
	}
}
