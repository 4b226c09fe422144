package policy

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/internal/corpustest"
	"github.com/auditship/auditship/internal/testing/kube"
)

// TestRecordedPolicyDifferential is the end-to-end policy differential on recorded data:
// testdata/kube-apiserver/policy holds the same traffic (same audit IDs and bodies) as a
// real kube-apiserver wrote it at RequestResponse and under each policy there. The
// filter applied to the RequestResponse log must give exactly what the API server wrote
// under the policy: the same events, levels and bodies.
func TestRecordedPolicyDifferential(t *testing.T) {
	dir := corpustest.KubeAPIServerDir(t, "policy")
	policies, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(policies) == 0 {
		t.Fatalf("no recorded policies in %s (%v)", dir, err)
	}
	sort.Strings(policies)
	full := corpustest.KubeFileLines(t, "policy", "requestresponse.log")
	dec, err := decode.New("audit")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range policies {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			doc, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(doc)
			if err != nil {
				t.Fatal(err)
			}
			f := New(p)
			var got [][]byte
			for _, line := range full {
				evs, err := dec.Decode(line)
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range evs {
					keep, err := f.Apply(ev)
					if err != nil {
						t.Fatal(err)
					}
					if !keep {
						continue
					}
					b, err := ev.AppendJSON(nil)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, b)
				}
			}
			diffs, n, err := kube.PolicyDiff("diff", corpustest.KubeFileLines(t, "policy", name+".log"), got)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatal("the API server wrote nothing of the traffic under this policy")
			}
			for _, d := range diffs {
				t.Error(d)
			}
			t.Logf("%d events written by kube-apiserver under %s, %d kept by the filter, %d differences", n, name, len(got), len(diffs))
		})
	}
}
