package redact

import (
	"strings"
	"testing"

	"github.com/auditship/auditship/inputs/decode"
)

// TestRepeatedKeysCannotSmuggleASecret: a line whose Secret data is repeated with the
// last copy empty decodes to "no data", so the preset redacts nothing; the bytes written
// must still not carry the first copy.
func TestRepeatedKeysCannotSmuggleASecret(t *testing.T) {
	const canary = "c211Z2dsZWQtY2FuYXJ5" // base64("smuggled-canary")
	lines := []string{
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"d1","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"secrets","namespace":"a","name":"s","apiVersion":"v1"},"requestObject":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s"},"data":{"k":"` + canary + `"},"data":null}}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"d2","stage":"ResponseComplete","verb":"get","objectRef":{"resource":"configmaps","namespace":"a","name":"c","apiVersion":"v1"},"responseObject":{"kind":"Secret","data":{"k":"` + canary + `"}},"responseObject":{"kind":"ConfigMap"}}`,
	}
	f, err := New(&Config{Preset: PresetKubernetesSecrets})
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := decode.New("audit")
	for _, line := range lines {
		evs, err := dec.Decode([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			keep, err := f.Apply(ev)
			if err != nil || !keep {
				t.Fatalf("Apply = %v, %v", keep, err)
			}
			out, err := ev.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(out), canary) {
				t.Fatalf("repeated key smuggled the secret out: %s", out)
			}
			if !strings.Contains(string(out), `"auditID":"d`) {
				t.Fatalf("event lost: %s", out)
			}
		}
	}
}
