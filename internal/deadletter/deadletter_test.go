package deadletter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestWrite: each entry is one line, 0600 in a 0700 directory, a time filled in, and an
// event that is not JSON kept as a string rather than lost.
func TestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dlq", "out.ndjson")
	f := New(path)
	entries := []Entry{
		{Output: "hec", Status: 400, Reason: "invalid event", Event: json.RawMessage(`{"auditID":"a","n":1.50}`)},
		{Output: "hec", Reason: "not json", Event: json.RawMessage(`{"auditID":`)},
		{Output: "kafka", Topic: "audit", Reason: "no event"},
	}
	if err := f.Write(entries); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(entries[:1]); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: mode %v, %v; want %04o", p, fi.Mode().Perm(), err, want)
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var got []map[string]any
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, m)
	}
	if len(got) != 4 {
		t.Fatalf("%d lines, want 4", len(got))
	}
	if got[0]["time"] == "" || got[0]["time"] == nil {
		t.Error("no time filled in")
	}
	if s, ok := got[1]["event"].(string); !ok || s != `{"auditID":` {
		t.Errorf("non-JSON event = %#v, want it as a string", got[1]["event"])
	}
	if got[2]["event"] != nil || got[2]["topic"] != "audit" {
		t.Errorf("entry without event = %#v", got[2])
	}
	// Numbers keep their digits: the event is copied as bytes, not re-encoded.
	raw, _ := os.ReadFile(path)
	if !bytes.Contains(raw, []byte(`"n":1.50`)) {
		t.Errorf("event re-encoded: %s", raw)
	}
}
