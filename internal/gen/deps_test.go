package gen

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCommandsDoNotLinkTesting: the product's binaries (the agent and the generator
// command built on this package) do not link package testing; test helpers live under
// internal/testing.
func TestCommandsDoNotLinkTesting(t *testing.T) {
	for _, cmd := range []string{"github.com/auditship/auditship/cmd/auditship", "github.com/auditship/auditship/cmd/auditship-gen"} {
		out, err := exec.Command("go", "list", "-deps", cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", cmd, err, out)
		}
		for _, pkg := range strings.Fields(string(out)) {
			if pkg == "testing" || strings.Contains(pkg, "/internal/testing/") {
				t.Errorf("%s links %s", cmd, pkg)
			}
		}
	}
}
