package policy

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/internal/testing/genbench"
)

// BenchmarkPolicy: ns/event of the kubernetes.io example policy (9 rules) over the
// generator's mix.
func BenchmarkPolicy(b *testing.B) {
	_, file, _, _ := runtime.Caller(0)
	doc, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus", "policies", "k8s-website-audit-policy.yaml"))
	if err != nil {
		doc = []byte(benchPolicy)
	}
	p, err := Parse(doc)
	if err != nil {
		b.Fatal(err)
	}
	genbench.Run(b, gen.New(1), New(p).Apply)
}

const benchPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: ["system:kube-proxy"]
  verbs: ["watch"]
- level: None
  resources: [{group: coordination.k8s.io, resources: [leases]}]
- level: Metadata
  resources: [{group: "", resources: ["secrets", "serviceaccounts/token"]}]
- level: None
  nonResourceURLs: ["/healthz*", "/livez*", "/readyz*"]
- level: Request
  userGroups: ["system:nodes"]
- level: RequestResponse
`
