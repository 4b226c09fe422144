package webhook

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecodeEventList: whatever the body, the decoder does not panic; what it accepts is
// a list of lines, each one JSON object without a newline, equal to the item it came
// from once white space is removed.
func FuzzDecodeEventList(f *testing.F) {
	f.Add([]byte(eventList("audit.k8s.io/v1", "a", "b")))
	f.Add([]byte(eventList("audit.k8s.io/v1beta1", "c")))
	f.Add([]byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":null}`))
	f.Add([]byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","ITEMS":[{}]}`))
	f.Add([]byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"a":"\u2028\n","n":1e999}],"items":[]}`))
	f.Add([]byte("{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[{\"s\":\"\xff\"}]}"))
	f.Add([]byte(`{"\u006bind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"a" : [1, {"b":"x\"y\\"}], "n" : -0.50e+3 } , {}]}`))
	f.Add([]byte(" {\"kind\":\"EventList\",\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[]}\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		lines, err := DecodeEventList(body)
		if err != nil {
			if len(lines) != 0 {
				t.Fatal("lines returned with an error")
			}
			return
		}
		var members map[string]json.RawMessage // names matched exactly
		if err := json.Unmarshal(body, &members); err != nil {
			t.Fatalf("accepted a body encoding/json rejects: %v", err)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(members["items"], &items); err != nil {
			t.Fatalf("accepted items encoding/json rejects: %v", err)
		}
		if len(items) != len(lines) {
			t.Fatalf("%d lines from %d items", len(lines), len(items))
		}
		for i, l := range lines {
			if bytes.IndexByte(l, '\n') >= 0 || len(l) == 0 || l[0] != '{' || !json.Valid(l) {
				t.Fatalf("line %d is not one JSON object on one line: %q", i, l)
			}
			var want bytes.Buffer
			if err := json.Compact(&want, items[i]); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(want.Bytes(), l) {
				t.Fatalf("line %d changed the item: %q != %q", i, l, want.Bytes())
			}
		}
	})
}
