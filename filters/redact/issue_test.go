package redact

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/auditship/auditship/inputs/decode"
)

// issueLines are the minimal lines of issue 12, one per leak kind.
var issueLines = []string{
	`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"m01","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/secrets","verb":"create","user":{"username":"alice"},"objectRef":{"resource":"secrets","namespace":"prod","name":"s1","apiVersion":"v1"},"requestObject":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s1"},"data":{"password":"eA=="}},"annotations":{"patch.webhook.admission.k8s.io/round_0_index_0":"{\"configuration\":\"inj\",\"webhook\":\"inj.example.com\",\"patch\":[{\"op\":\"add\",\"path\":\"/data/db-password\",\"value\":\"Q0FOQVJZLTAwMDE=\"}],\"patchType\":\"JSONPatch\"}"}}`,
	`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"m04","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/secrets","verb":"create","user":{"username":"alice"},"objectRef":{"resource":"secrets","namespace":"prod","name":"s1","apiVersion":"v1"},"requestObject":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s1","annotations":{"kubernetes.io/change-cause":"kubectl create secret generic s1 --from-literal=password=CANARY-0004 --record=true"}},"data":{"password":"Q0FOQVJZLTAwMDQ="}}}`,
	`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"m02","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/secrets/s1?fieldManager=kubectl","verb":"patch","user":{"username":"alice"},"objectRef":{"resource":"secrets","namespace":"prod","name":"s1","apiVersion":"v1"},"requestObject":{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s1","stringData":{"DB_PASSWORD":"CANARY-0002"}}}}`,
	`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"m11","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/serviceaccounts/s1/token","verb":"create","user":{"username":"alice"},"objectRef":{"resource":"serviceaccounts","namespace":"prod","name":"s1","apiVersion":"v1","subresource":"token"},"responseObject":{"kind":"Foo","payload":{"jwt":"CANARY-0011"}}}`,
	`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"kind":"Event","auditID":"benign","verb":"get"}],"ITEMS":[{"kind":"AdmissionReview","request":{"object":{"kind":"Secret","data":{"password":"Q0FOQVJZLTAwMTU="}}}}]}`,
}

// TestIssueLines: each of the issue's lines comes out of the decoder and the preset
// without its canary, under every action, with auditID, verb, objectRef, user and
// responseStatus as they were.
func TestIssueLines(t *testing.T) {
	dec, err := decode.New("auto")
	if err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"mask", "remove", "hash"} {
		f := presetFilter(t, action)
		for i, line := range issueLines {
			evs, err := dec.Decode([]byte(line))
			if err != nil || len(evs) == 0 {
				t.Fatalf("%s line %d: decode: %v", action, i, err)
			}
			for _, ev := range evs {
				var in map[string]any
				_ = json.Unmarshal([]byte(line), &in)
				if keep, err := f.Apply(ev); err != nil || !keep {
					t.Fatalf("%s line %d: keep=%v err=%v", action, i, keep, err)
				}
				out := encode(t, ev)
				if strings.Contains(out, "CANARY") || strings.Contains(out, "Q0FO") {
					t.Errorf("%s line %d leaks:\n%s", action, i, out)
				}
				var got map[string]any
				if err := json.Unmarshal([]byte(out), &got); err != nil {
					t.Fatal(err)
				}
				if in["kind"] == "EventList" {
					in = in["items"].([]any)[0].(map[string]any)
				}
				for _, k := range []string{"auditID", "verb", "objectRef", "user", "responseStatus"} {
					if !reflect.DeepEqual(got[k], in[k]) {
						t.Errorf("%s line %d: %s changed: %v -> %v", action, i, k, in[k], got[k])
					}
				}
			}
		}
	}
}
