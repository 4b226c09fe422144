package policy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/auditship/auditship/pipeline"
)

// TestLoweringRemovesRequestLevelAnnotations: kube-apiserver writes the mutating webhook
// patch annotation only at level Request and above; an event lowered below Request loses
// it (and only it), one kept at Request or above keeps it.
func TestLoweringRemovesRequestLevelAnnotations(t *testing.T) {
	const patch = `"patch.webhook.admission.k8s.io/round_0_index_0":"{\"configuration\":\"inj\",\"webhook\":\"inj.example.com\",\"patch\":[{\"op\":\"add\",\"path\":\"/data/x\",\"value\":\"Q0FOQVJZ\"}],\"patchType\":\"JSONPatch\"}"`
	const patch1 = `"patch.webhook.admission.k8s.io/round_1_index_3":"{\"patch\":[]}"`
	const mutation = `"mutation.webhook.admission.k8s.io/round_0_index_0":"{\"configuration\":\"inj\",\"webhook\":\"inj.example.com\",\"mutated\":true}"`
	const decision = `"authorization.k8s.io/decision":"allow"`
	line := func(level, ann string) string {
		return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"` + level + `","auditID":"a","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/p/secrets","verb":"create","user":{"username":"alice"},"objectRef":{"resource":"secrets","namespace":"p","name":"s","apiVersion":"v1"},"requestObject":{"kind":"Secret"},"annotations":{` + ann + `}}`
	}
	tests := []struct {
		name, policy, level, ann string
		wantGone, wantKept       []string
	}{
		{"lowered to Metadata", "- level: Metadata", "RequestResponse", patch + "," + mutation + "," + decision,
			[]string{"patch.webhook"}, []string{"mutation.webhook", "authorization.k8s.io/decision"}},
		{"every round and index", "- level: Metadata", "Request", patch + "," + patch1 + "," + decision,
			[]string{"patch.webhook"}, []string{"authorization.k8s.io/decision"}},
		{"only patch annotations", "- level: Metadata", "Request", patch,
			[]string{"patch.webhook"}, []string{`"annotations":{}`}},
		{"written at Metadata already", "- level: RequestResponse", "Metadata", patch + "," + decision,
			[]string{"patch.webhook"}, []string{"authorization.k8s.io/decision"}},
		{"kept at Request", "- level: Request", "RequestResponse", patch + "," + decision,
			nil, []string{"patch.webhook", "authorization.k8s.io/decision"}},
		{"kept at RequestResponse", "- level: RequestResponse", "RequestResponse", patch,
			nil, []string{"patch.webhook"}},
		{"escaped key", "- level: Metadata", "Request", `"\u0070atch.webhook.admission.k8s.io/round_0_index_0":"x",` + decision,
			[]string{"patch.webhook", "u0070atch"}, []string{"authorization.k8s.io/decision"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := New(mustParse(t, rules(tc.policy)))
			in := line(tc.level, tc.ann)
			ev, err := pipeline.NewRawEvent([]byte(in), pipeline.SourceAudit)
			if err != nil {
				// A key with escapes: decoded, as the decoder does (see decode.parse).
				var m map[string]any
				if err := json.Unmarshal([]byte(in), &m); err != nil {
					t.Fatal(err)
				}
				ev = pipeline.NewEvent(nil, m, pipeline.SourceAudit)
			}
			keep, err := f.Apply(ev)
			if err != nil || !keep {
				t.Fatalf("keep=%v err=%v", keep, err)
			}
			b, err := ev.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			out := string(b)
			for _, g := range tc.wantGone {
				if strings.Contains(out, g) {
					t.Errorf("%s survived: %s", g, out)
				}
			}
			for _, k := range tc.wantKept {
				if !strings.Contains(out, k) {
					t.Errorf("%s lost: %s", k, out)
				}
			}
		})
	}
}
