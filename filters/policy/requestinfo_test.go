package policy

import (
	"fmt"
	"testing"

	"github.com/auditship/auditship/inputs/decode"
)

// TestParseRequestInfo: kube-apiserver's RequestInfoFactory rules, case by case (the
// differential test in internal/testing/policydiff runs the factory itself).
func TestParseRequestInfo(t *testing.T) {
	res := func(group, ns, resource, sub, name string) RequestInfo {
		return RequestInfo{IsResourceRequest: true, APIGroup: group, Namespace: ns, Resource: resource, Subresource: sub, Name: name}
	}
	tests := []struct {
		uri, verb string
		want      RequestInfo
	}{
		{"/api/v1/namespaces/kube-system/configmaps", "create", res("", "kube-system", "configmaps", "", "")},
		{"/api/v1/namespaces/kube-system/configmaps/leader-lock", "update", res("", "kube-system", "configmaps", "", "leader-lock")},
		{"/api/v1/namespaces/kube-system/configmaps/leader%2Dlock", "get", res("", "kube-system", "configmaps", "", "leader-lock")},
		{"/api/v1/namespaces/ns/pods/web/log?follow=true", "get", res("", "ns", "pods", "log", "web")},
		{"/api/v1/namespaces/ns/pods/web/exec?command=sh", "create", res("", "ns", "pods", "exec", "web")},
		{"/apis/apps/v1/namespaces/ns/deployments/d/scale", "patch", res("apps", "ns", "deployments", "scale", "d")},
		{"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases", "list", res("coordination.k8s.io", "kube-system", "leases", "", "")},
		// A Namespace is its own namespace; status and finalize are its subresources.
		{"/api/v1/namespaces/prod", "get", res("", "prod", "namespaces", "", "prod")},
		{"/api/v1/namespaces/prod/status", "update", res("", "prod", "namespaces", "status", "prod")},
		{"/api/v1/namespaces/prod/finalize", "update", res("", "prod", "namespaces", "finalize", "prod")},
		{"/api/v1/namespaces/prod/statuses", "list", res("", "prod", "statuses", "", "")},
		{"/api/v1/namespaces", "create", res("", "", "namespaces", "", "")},
		{"/api/v1/namespaces/", "list", res("", "", "namespaces", "", "")},
		{"/api/v1/nodes/n1/status", "patch", res("", "", "nodes", "status", "n1")},
		{"/api/v1/pods?watch=true", "watch", res("", "", "pods", "", "")},
		// watch and proxy as verb prefixes; a proxy has no subresource.
		{"/api/v1/watch/namespaces/ns/pods/web", "watch", res("", "ns", "pods", "", "web")},
		{"/api/v1/watch/pods", "watch", res("", "", "pods", "", "")},
		{"/api/v1/proxy/namespaces/ns/pods/web/a/b", "proxy", res("", "ns", "pods", "", "web")},
		{"/api/v1/namespaces/ns/pods/web/proxy/a/b", "get", res("", "ns", "pods", "proxy", "web")},
		{"/api/v1/watch", "watch", RequestInfo{IsResourceRequest: true}},
		// A list or watch narrowed to one name by a fieldSelector has that name.
		{"/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Dleader-lock", "list", res("", "kube-system", "configmaps", "", "leader-lock")},
		{"/api/v1/namespaces/ns/pods?fieldSelector=spec.nodeName%3Dn1,metadata.name%3D%3Dweb&watch=1", "watch", res("", "ns", "pods", "", "web")},
		{"/api/v1/namespaces/ns/pods?fieldSelector=metadata.name%21%3Dweb", "list", res("", "ns", "pods", "", "")},
		{"/api/v1/namespaces/ns/pods?fieldSelector=metadata.name%3Da%2Fb", "list", res("", "ns", "pods", "", "")},
		{"/api/v1/namespaces/ns/pods?fieldSelector=metadata.name%3Dweb&limit=x", "list", res("", "ns", "pods", "", "")},
		{"/api/v1/namespaces/ns/pods?fieldSelector=metadata.name%3Dw%5C%2Ceb", "list", res("", "ns", "pods", "", "w,eb")},
		{"/api/v1/watch/namespaces/ns/pods?fieldSelector=metadata.name%3Dweb", "watch", res("", "ns", "pods", "", "")},
		// Non-resource URLs: too short, another prefix, or a group without a resource.
		{"/healthz?verbose", "get", RequestInfo{Path: "/healthz"}},
		{"/api/v1", "get", RequestInfo{Path: "/api/v1"}},
		{"/apis/apps/v1", "get", RequestInfo{Path: "/apis/apps/v1"}},
		{"/openapi/v3/apis/apps/v1", "get", RequestInfo{Path: "/openapi/v3/apis/apps/v1"}},
		{"/", "get", RequestInfo{Path: "/"}},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			got := ParseRequestInfo(tc.uri, tc.verb)
			if tc.want.Path == "" {
				got.Path = ""
			}
			if got != tc.want {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestPolicyMatchesRequestInfoNotObjectRef: the policy sees what kube-apiserver saw when
// it evaluated its policy, not the objectRef filled in later (issue 13 kind 6): a create
// has no name, even when its objectRef (or kube-audit-rest's request.name) has one.
func TestPolicyMatchesRequestInfoNotObjectRef(t *testing.T) {
	p := mustParse(t, rules(`- level: None
  resources: [{group: "", resources: [configmaps], resourceNames: [leader-lock]}]
- level: None
  namespaces: [prod]
  resources: [{group: "", resources: [namespaces/status]}]
- level: Request
  resources: [{group: "coordination.k8s.io", resources: [leases]}]
- level: Metadata
`))
	f := New(p)
	event := func(verb, uri, objectRef string) string {
		return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a","stage":"ResponseComplete",`+
			`"verb":%q,"requestURI":%q,"user":{"username":"system:kube-controller-manager"},"objectRef":%s,`+
			`"requestObject":{"kind":"ConfigMap"},"responseObject":{"kind":"ConfigMap"}}`, verb, uri, objectRef)
	}
	cm := `{"resource":"configmaps","namespace":"kube-system","name":"leader-lock","apiVersion":"v1"}`
	review := func(op, name string) string {
		return `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u1",` +
			`"resource":{"group":"","version":"v1","resource":"configmaps"},"name":"` + name + `","namespace":"kube-system",` +
			`"operation":"` + op + `","userInfo":{"username":"alice"},"object":{"kind":"ConfigMap"}},"requestReceivedTimestamp":"2026-11-20T10:00:00.000000Z"}`
	}
	tests := []struct {
		name, format, line string
		kept               bool
		level              string
	}{
		{"create of leader-lock has no name", "audit", event("create", "/api/v1/namespaces/kube-system/configmaps", cm), true, "Metadata"},
		{"update of leader-lock", "audit", event("update", "/api/v1/namespaces/kube-system/configmaps/leader-lock", cm), false, ""},
		{"get of leader-lock, escaped", "audit", event("get", "/api/v1/namespaces/kube-system/configmaps/leader%2Dlock", cm), false, ""},
		{"list narrowed to leader-lock", "audit", event("list", "/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Dleader-lock", `{"resource":"configmaps","namespace":"kube-system","apiVersion":"v1"}`), false, ""},
		{"watch of leader-lock by prefix", "audit", event("watch", "/api/v1/watch/namespaces/kube-system/configmaps/leader-lock", cm), false, ""},
		{"list of all configmaps", "audit", event("list", "/api/v1/namespaces/kube-system/configmaps", `{"resource":"configmaps","namespace":"kube-system","apiVersion":"v1"}`), true, "Metadata"},
		{"the URL wins over objectRef", "audit", event("update", "/api/v1/namespaces/kube-system/configmaps/leader-lock", `{"resource":"secrets","namespace":"x","name":"y"}`), false, ""},
		{"namespace status is the namespace's own", "audit", event("update", "/api/v1/namespaces/prod/status", `{"resource":"namespaces","namespace":"prod","name":"prod","subresource":"status"}`), false, ""},
		{"namespace status elsewhere", "audit", event("update", "/api/v1/namespaces/dev/status", `{"resource":"namespaces","namespace":"dev","name":"dev","subresource":"status"}`), true, "Metadata"},
		{"lease in its group", "audit", event("update", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/l", `{"resource":"leases","apiGroup":"coordination.k8s.io"}`), true, "Request"},
		{"kube-audit-rest CREATE of leader-lock", "kube-audit-rest", review("CREATE", "leader-lock"), true, "Metadata"},
		{"kube-audit-rest UPDATE of leader-lock", "kube-audit-rest", review("UPDATE", "leader-lock"), false, ""},
		{"kube-audit-rest DELETE of leader-lock", "auto", review("DELETE", "leader-lock"), false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dec, err := decode.New(tc.format)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := dec.Decode([]byte(tc.line))
			if err != nil {
				t.Fatal(err)
			}
			kept, err := f.Apply(evs[0])
			if err != nil {
				t.Fatal(err)
			}
			if kept != tc.kept {
				t.Fatalf("kept %v, want %v", kept, tc.kept)
			}
			if lvl, _ := evs[0].Field("level").(string); kept && lvl != tc.level {
				t.Fatalf("level %s, want %s", lvl, tc.level)
			}
		})
	}
}
