package decode

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/auditship/auditship/internal/corpustest"
)

// TestRecordedKubeAPIServer decodes what a real kube-apiserver wrote
// (testdata/kube-apiserver): every --audit-log-path line (rotated, gzipped backups
// included) is one event equal to the line; every webhook backend batch is an EventList
// whose items are the same events the log backend wrote (items carry no kind or
// apiVersion); every kube-audit-rest line is one event with the review's uid and
// received time.
func TestRecordedKubeAPIServer(t *testing.T) {
	logged := map[string]map[string]any{}
	for _, format := range []string{"audit", "auto"} {
		dec, err := New(format)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range corpustest.KubeAuditLines(t) {
			evs, err := dec.Decode(line)
			if err != nil || len(evs) != 1 {
				t.Fatalf("%s: line %d: %d events, %v", format, i+1, len(evs), err)
			}
			var want map[string]any
			if err := json.Unmarshal(line, &want); err != nil {
				t.Fatal(err)
			}
			if got := evs[0].Fields(); !sameJSON(got, want) {
				t.Fatalf("%s: line %d decodes to something else than its JSON", format, i+1)
			}
			logged[want["auditID"].(string)+"/"+want["stage"].(string)] = want
		}
	}

	dec, _ := New("audit")
	items, matched := 0, 0
	for i, batch := range corpustest.KubeFileLines(t, "webhook-batches.ndjson") {
		evs, err := dec.Decode(batch)
		if err != nil {
			t.Fatalf("webhook batch %d: %v", i+1, err)
		}
		var list struct {
			Kind  string           `json:"kind"`
			Items []map[string]any `json:"items"`
		}
		if err := json.Unmarshal(batch, &list); err != nil || list.Kind != "EventList" {
			t.Fatalf("webhook batch %d is not an EventList (%v)", i+1, err)
		}
		if len(evs) != len(list.Items) {
			t.Fatalf("webhook batch %d: %d events from %d items", i+1, len(evs), len(list.Items))
		}
		for j, ev := range evs {
			f := ev.Fields()
			if !sameJSON(f, list.Items[j]) {
				t.Fatalf("webhook batch %d item %d decodes to something else than the item", i+1, j)
			}
			items++
			k, _ := f["auditID"].(string)
			s, _ := f["stage"].(string)
			if w, ok := logged[k+"/"+s]; ok {
				matched++
				delete(w, "kind")
				delete(w, "apiVersion")
				if !sameJSON(f, w) {
					t.Errorf("webhook item %s/%s differs from the log backend's line", k, s)
				}
			}
		}
	}
	if items == 0 || matched < items*9/10 {
		t.Errorf("%d webhook items, %d of them in the audit log: the backends saw different traffic", items, matched)
	}

	kar, _ := New("kube-audit-rest")
	reviews := corpustest.KubeFileLines(t, "kube-audit-rest.ndjson")
	for i, line := range reviews {
		evs, err := kar.Decode(line)
		if err != nil || len(evs) != 1 {
			t.Fatalf("kube-audit-rest line %d: %d events, %v", i+1, len(evs), err)
		}
		var r struct {
			Request struct {
				UID string `json:"uid"`
			} `json:"request"`
			Received string `json:"requestReceivedTimestamp"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		if got := evs[0].Field("auditID"); got != r.Request.UID {
			t.Errorf("kube-audit-rest line %d: auditID %v, review uid %s", i+1, got, r.Request.UID)
		}
		if got := evs[0].Field("requestReceivedTimestamp"); got != r.Received {
			t.Errorf("kube-audit-rest line %d: requestReceivedTimestamp %v, want %s", i+1, got, r.Received)
		}
	}
	t.Logf("%d audit lines, %d webhook items (%d also in the log), %d reviews", len(corpustest.KubeAuditLines(t)), items, matched, len(reviews))
}

// sameJSON compares two decoded values by their canonical encoding (sorted keys, numbers
// as written), so it does not depend on how a decoder represents numbers.
func sameJSON(a, b any) bool {
	return bytes.Equal(canonicalJSON(a), canonicalJSON(b))
}

func canonicalJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(err.Error())
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return []byte(err.Error())
	}
	out, _ := json.Marshal(x)
	return out
}
