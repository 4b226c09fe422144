package analyze

import "testing"

// A group's expression matches exactly its events on events that lack a field the key
// holds as "" (no verb, a null verb, no level, no stage): a drop suggestion for such a
// group must not also drop the same user's writes (signals) beside it. Likewise a name
// that is in one class or another by its groups (system:masters, system:unauthenticated),
// and names holding the separators of a resource name.
func TestGroupExprExactOnOddEvents(t *testing.T) {
	const cm = `{"resource":"configmaps","namespace":"prod"}`
	lines := []string{
		// the same user, resource, level and stage, with verbs that are signals
		ev("alice", "update", cm, ""),
		ev("alice", "delete", cm, ""),
		ev("alice", "get", cm, ""),
		ev("system:kube-scheduler", "update", cm, ""),
		// no verb, a null verb, no level, no stage
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"n1","stage":"ResponseComplete","user":{"username":"alice"},"objectRef":` + cm + `}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"n2","stage":"ResponseComplete","verb":null,"user":{"username":"system:kube-scheduler"},"objectRef":` + cm + `}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"n3","stage":"ResponseComplete","verb":"get","user":{"username":"alice"},"objectRef":` + cm + `}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"n4","verb":"get","user":{"username":"alice"},"objectRef":` + cm + `}`,
		// one system:* name, a person in system:masters and a component without it
		ev("system:admin", "get", cm, ""),
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"m1","stage":"ResponseComplete","verb":"get","user":{"username":"system:admin","groups":["system:masters"]},"objectRef":` + cm + `}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"m2","stage":"ResponseComplete","verb":"get","user":{"username":"system:apiserver","groups":["system:masters"]},"objectRef":` + cm + `}`,
		ev("system:apiserver", "get", cm, ""),
		// names an authenticating proxy may pair with system:unauthenticated: anonymous
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"u1","stage":"ResponseComplete","verb":"get","user":{"username":"system:kube-scheduler","groups":["system:unauthenticated"]},"objectRef":` + cm + `}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"u2","stage":"ResponseComplete","verb":"get","user":{"username":"alice","groups":["system:unauthenticated"]},"objectRef":` + cm + `}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"u3","stage":"ResponseComplete","verb":"get","user":{"username":"system:node:n1","groups":["system:unauthenticated"]},"objectRef":` + cm + `}`,
		ev("system:node:n1", "get", cm, ""),
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"u4","stage":"ResponseComplete","verb":"get","user":{"username":"system:serviceaccount:a:b","groups":["system:unauthenticated"]},"objectRef":` + cm + `}`,
		ev("system:serviceaccount:a:b", "get", cm, ""),
		// a resource, subresource or group holding the separators (any request path names one)
		ev("alice", "get", `{"resource":"configmaps.x","namespace":"prod"}`, ""),
		ev("alice", "get", `{"resource":"configmaps","apiGroup":"x","namespace":"prod"}`, ""),
		ev("alice", "get", `{"resource":"pods","subresource":"a.b","namespace":"prod"}`, ""),
		ev("alice", "get", `{"resource":"pods","subresource":"a","apiGroup":"b","namespace":"prod"}`, ""),
		ev("alice", "get", `{"resource":"pods/a","apiGroup":"b","namespace":"prod"}`, ""),
		ev("alice", "get", `{"resource":"\"x\"/\"y\"","apiGroup":"\"z\"","namespace":"prod"}`, ""),
		ev("alice", "get", `{"resource":"nonresource:/healthz","namespace":"prod"}`, ""),
	}
	keys := map[Key][]int{}
	for i, l := range lines {
		a := Read(event(t, l))
		k := Key{a.UserClass, a.User, a.Verb, a.ResourceName(), a.NamespaceClass(), a.Level, a.Stage}
		keys[k] = append(keys[k], i)
	}
	for k, members := range keys {
		c := compile(t, GroupExpr(k))
		for i, l := range lines {
			got, err := c.EvalEvent(event(t, l))
			if err != nil {
				t.Fatalf("%+v: %v", k, err)
			}
			want := false
			for _, m := range members {
				want = want || m == i
			}
			if got != want {
				t.Errorf("group %+v: expression says %v for %s", k, got, l)
			}
		}
	}
}
