package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/auditship/auditship/internal/testing/kube"
)

// TestPolicyDifferential sends the same traffic (same audit IDs, same bodies) to one API
// server auditing at RequestResponse and to one per policy; auditship's audit_policy,
// applied to the RequestResponse log, must produce what the API server wrote under that
// policy: the same events, levels and bodies (up to what differs between two clusters:
// UIDs, resource versions, timestamps, tokens, Table cells).
func TestPolicyDifferential(t *testing.T) {
	full := policyRun(t, kube.DefaultPolicy)
	input := filepath.Join(t.TempDir(), "requestresponse.log")
	if err := os.WriteFile(input, joinLines(full), 0o600); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(kube.DifferentialPolicies))
	for n := range kube.DifferentialPolicies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		policy := kube.DifferentialPolicies[name]
		t.Run(name, func(t *testing.T) {
			want := policyRun(t, policy)
			if len(want) == 0 {
				t.Fatal("the API server wrote nothing under this policy")
			}
			diffs, n, err := kube.PolicyDiff("diff", want, applyPolicy(t, input, policy))
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatal("the API server wrote no event of the traffic under this policy")
			}
			for _, d := range diffs {
				t.Error(d)
			}
			t.Logf("%d events of the traffic under the policy, %d differences", n, len(diffs))
		})
	}
}

// policyRun starts a cluster auditing under policy, sends the differential traffic and
// returns the lines of the traffic's own requests.
func policyRun(t *testing.T, policy string) [][]byte {
	t.Helper()
	c := kube.Start(t, kube.Options{Policy: policy, LogMaxSizeMB: 100})
	d := kube.NewDriver(c, "differential")
	d.AuditIDPrefix = "diff"
	for i := range 2 {
		if err := d.Round(context.Background(), fmt.Sprintf("diff-%d", i)); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	c.Stop()
	lines, _ := groundTruth(t, c)
	return lines
}

// applyPolicy runs the agent once over input with only an audit_policy filter.
func applyPolicy(t *testing.T, input, policy string) [][]byte {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	indented := "      " + strings.ReplaceAll(strings.TrimSpace(policy), "\n", "\n      ")
	cfg := filepath.Join(dir, "auditship.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`data_dir: %s
http:
  listen: ""  # no metrics port: tests and other agents run side by side
inputs:
  apiserver:
    type: file
    paths: [%q]
    format: audit
    start_at: beginning
filters:
  - type: audit_policy
    name: policy
    policy: |
%s
outputs:
  file:
    type: file
    path: %s
`, filepath.Join(dir, "state"), input, indented, out)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(buildAgent(t), "run", "-c", cfg, "--once")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("auditship run --once: %v\n%s", err, b)
	}
	return readNDJSON(out)
}
