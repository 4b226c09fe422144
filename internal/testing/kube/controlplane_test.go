package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestControlPlaneTraffic checks the control-plane traffic against a real API server: every
// component's requests are audited as that component, allowed by the authorizers a
// kubeadm cluster runs (Node,RBAC), and the only refusals are the ones the traffic means.
func TestControlPlaneTraffic(t *testing.T) {
	o := ControlPlaneOptions{Minutes: 2, Nodes: 3, Seed: 7}
	c := Start(t, Options{Users: ControlPlaneUsers(o), NodeAuthorizer: true, LogMaxSizeMB: 100})
	skip := 0
	ready := func() error {
		lines, err := ReadLines([]string{c.AuditLog})
		skip = len(lines)
		return err
	}
	if err := NewControlPlane(c, NewDriver(c, "cp-test"), o).Run(context.Background(), ready); err != nil {
		t.Fatal(err)
	}
	lines, err := c.AuditLines()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	refused := map[string]int{}
	for _, l := range lines[skip:] {
		var e struct {
			Stage string
			Verb  string
			User  struct{ Username string }
			Ref   struct{ Resource, Subresource string } `json:"objectRef"`
			URI   string                                 `json:"requestURI"`
			Resp  struct{ Code int }                     `json:"responseStatus"`
		}
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatal(err)
		}
		if e.Stage != "ResponseComplete" {
			continue
		}
		what := fmt.Sprintf("%s %s %s/%s", e.User.Username, e.Verb, e.Ref.Resource, e.Ref.Subresource)
		if e.Ref.Resource == "" {
			what = e.User.Username + " " + e.Verb + " " + e.URI
		}
		seen[what]++
		if e.Resp.Code >= 300 {
			refused[fmt.Sprintf("%s %d", what, e.Resp.Code)]++
		}
	}
	// One of each component's kinds of request (a watch is due at a random tick, so
	// watches are matched by user class).
	for _, want := range []string{
		"system:node:cp-1 update leases/", "system:node:node-1 patch nodes/status", "system:node: watch ",
		"system:node:node-1 create serviceaccounts/token", "system:node:node-1 patch pods/status", "system:node:node-2 delete pods/",
		"system:kube-controller-manager update leases/", "system:kube-controller-manager watch ", "system:kube-scheduler update leases/",
		"system:kube-scheduler create pods/binding", "system:anonymous get /readyz", "system:anonymous get /livez",
		"system:serviceaccount:kube-system:generic-garbage-collector get /apis", "system:serviceaccount:kube-system:resourcequota-controller get /api",
		"system:serviceaccount:kube-system:cronjob-controller create jobs/", "system:serviceaccount:kube-system:job-controller create pods/",
		"system:serviceaccount:kube-system:replicaset-controller delete pods/", "system:serviceaccount:kube-system:endpointslice-controller update endpointslices/",
		"system:serviceaccount:cert-manager:cert-manager update leases/", "system:serviceaccount:ingress-nginx:ingress-nginx update leases/",
		"system:serviceaccount:monitoring:prometheus get /metrics", "system:serviceaccount:ci:deployer patch deployments/",
		"alice@example.com get secrets/", "alice@example.com patch configmaps/", "bob@example.com patch deployments/scale", "admin create secrets/",
	} {
		found := false
		for what := range seen {
			user, rest, _ := strings.Cut(want, " ")
			found = found || strings.HasPrefix(what, user) && strings.Contains(what, " "+rest)
		}
		if !found {
			t.Errorf("no audit event %q", want)
		}
	}
	// What the traffic means to be refused: Alice listing another team's Secrets and the
	// security round's own denials and exec attempts; nothing the components send.
	for r, n := range refused {
		switch r {
		case "alice@example.com list secrets/ 403", "nobody get secrets/ 403", "nobody list secrets/ 403", "nobody create secrets/ 403",
			"nobody create pods/exec 403", "admin create pods/exec 400", "nobody create tokenreviews/ 403",
			"admin patch secrets/ 500": // the misindented Secret: kube-apiserver answers 500 to a field SSA cannot type
		default:
			t.Errorf("%d refused: %s", n, r)
		}
	}
	t.Logf("%d steady-state events, %d kinds of request", len(lines)-skip, len(seen))
}
