package gen

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

func TestDeterministic(t *testing.T) {
	a, b := New(7), New(7)
	for i := range 200 {
		if !bytes.Equal(a.Event(i), b.Event(i)) {
			t.Fatalf("event %d differs between two generators with the same seed", i)
		}
	}
	if bytes.Equal(New(7).Event(3), New(8).Event(3)) {
		t.Fatal("different seeds gave the same event")
	}
}

func TestEventsAreValidAuditEvents(t *testing.T) {
	for _, f := range []Format{FormatAudit, FormatKubeAuditRest} {
		g := New(1).WithFormat(f)
		for i := range 800 {
			var m map[string]any
			if err := json.Unmarshal(g.Event(i), &m); err != nil {
				t.Fatalf("format %d event %d: %v", f, i, err)
			}
			switch f {
			case FormatAudit:
				if m["kind"] != "Event" || m["auditID"] == "" || m["verb"] == "" || m["stage"] == "" {
					t.Fatalf("event %d lacks audit fields: %v", i, m)
				}
			case FormatKubeAuditRest:
				req, _ := m["request"].(map[string]any)
				if m["kind"] != "AdmissionReview" || req == nil || req["operation"] == "" || req["uid"] == "" {
					t.Fatalf("line %d is not an AdmissionReview request: %v", i, m)
				}
			}
		}
	}
}

// TestMix checks the shape of the stream: what dominates the count, what dominates the
// bytes, and that every category appears.
func TestMix(t *testing.T) {
	g := New(1)
	const n = 8000
	count := map[Category]int{}
	size := map[Category]int{}
	total := 0
	for i := range n {
		c := g.Category(i)
		l := len(g.Event(i))
		count[c]++
		size[c] += l
		total += l
	}
	for _, w := range mix {
		if count[w.cat] == 0 {
			t.Errorf("category %s never generated", w.cat)
		}
	}
	if count[CatLease]*100/n < 25 {
		t.Errorf("leases are %d%% of events, want them to dominate", count[CatLease]*100/n)
	}
	if (size[CatNodeStatus]+size[CatPodStatus])*100/total < 25 {
		t.Errorf("status patches are %d%% of bytes, want big bodies", (size[CatNodeStatus]+size[CatPodStatus])*100/total)
	}
	cats := make([]string, 0, len(count))
	for c := range count {
		cats = append(cats, string(c))
	}
	sort.Strings(cats)
	for _, c := range cats {
		t.Logf("%-20s %5.1f%% of events %5.1f%% of bytes, avg %d B", c, float64(count[Category(c)])*100/n, float64(size[Category(c)])*100/float64(total), size[Category(c)]/count[Category(c)])
	}
	t.Logf("average event %d B", total/n)
}

func TestCanaries(t *testing.T) {
	plain, marked := New(5), New(5).WithCanaries(true)
	found := 0
	for i := range 1500 {
		if ContainsCanary(plain.Event(i)) {
			t.Fatalf("event %d has a canary without canaries on", i)
		}
		if ContainsCanary(marked.Event(i)) {
			found++
			switch c := marked.Category(i); c {
			case CatSecretRead, CatSecretReadSA, CatSecretWrite, CatTokenReview, CatTokenRequest:
			default:
				t.Fatalf("canary in a %s event", c)
			}
		}
	}
	if found == 0 {
		t.Fatal("no canary planted")
	}
}

func TestWriteBytes(t *testing.T) {
	var buf bytes.Buffer
	n, err := New(1).WriteBytes(&buf, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if buf.Len() < 100000 || n != bytes.Count(buf.Bytes(), []byte("\n")) {
		t.Fatalf("wrote %d bytes, %d events, %d lines", buf.Len(), n, bytes.Count(buf.Bytes(), []byte("\n")))
	}
	var buf2 bytes.Buffer
	if _, err := New(1).WriteEvents(&buf2, n); err != nil || !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
		t.Fatalf("WriteEvents(%d) differs from WriteBytes: %v", n, err)
	}
}

// TestRealShapes: the stream carries the shapes kube-apiserver writes that a hand-made
// one lacks: managedFields keys such as k:{"name":"app"} (escaped in the line) in the
// bodies of Pods, Deployments, Services, Nodes, node Leases and status patches, on at
// least 30% of the events with a body, and & written \u0026 in request URIs.
func TestRealShapes(t *testing.T) {
	g := New(1)
	const n = 6000
	withBody, withEsc, ampURIs := 0, 0, 0
	escBy := map[string]int{}
	for i := range n {
		line := g.Event(i)
		var ev struct {
			RequestURI     string `json:"requestURI"`
			ObjectRef      struct{ Resource, Subresource string }
			RequestObject  json.RawMessage `json:"requestObject"`
			ResponseObject json.RawMessage `json:"responseObject"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(ev.RequestURI, "&") {
			if !bytes.Contains(line, []byte(`\u0026`)) {
				t.Fatalf("event %d: & in the request URI not written \\u0026", i)
			}
			ampURIs++
		}
		if ev.RequestObject == nil && ev.ResponseObject == nil {
			continue
		}
		withBody++
		if EscapedKeys(line) > 0 {
			withEsc++
			escBy[ev.ObjectRef.Resource+"/"+ev.ObjectRef.Subresource]++
		}
	}
	if share := float64(withEsc) / float64(withBody); share < 0.30 {
		t.Errorf("%.0f%% of events with a body have escaped keys, want >= 30%%", share*100)
	}
	for _, r := range []string{"pods/", "pods/status", "deployments/", "services/", "nodes/", "nodes/status", "leases/"} {
		if escBy[r] == 0 {
			t.Errorf("no %s event with escaped managedFields keys", r)
		}
	}
	if ampURIs == 0 {
		t.Error("no request URI with &")
	}
	t.Logf("%d of %d events with a body have escaped keys: %v", withEsc, withBody, escBy)
}

func TestEscapedKeys(t *testing.T) {
	for _, c := range []struct {
		line string
		want int
	}{
		{`{"a":"b"}`, 0},
		{`{"a\"":"b\"","c":"\u0026"}`, 1},
		{`{"k:{\"name\":\"app\"}":{".":{}},"x":["\\",{"v:\"a\"" : 1}]}`, 2},
		{`{"a\\":"b:","c":"\":"}`, 1},
	} {
		if got := EscapedKeys([]byte(c.line)); got != c.want {
			t.Errorf("EscapedKeys(%s) = %d, want %d", c.line, got, c.want)
		}
	}
}
