package policydiff

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/sets"
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
	k8saudit "k8s.io/apiserver/pkg/audit"
	k8spolicy "k8s.io/apiserver/pkg/audit/policy"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/request"

	"github.com/auditship/auditship/filters/policy"
	"github.com/auditship/auditship/inputs/decode"
)

// factory is kube-apiserver's RequestInfoFactory as its server config builds it
// (k8s.io/apiserver/pkg/server/config.go: NewRequestInfoResolver).
var factory = &request.RequestInfoFactory{
	APIPrefixes:          sets.NewString("api", "apis"),
	GrouplessAPIPrefixes: sets.NewString("api"),
}

// req is one generated request: what kube-apiserver received.
type req struct {
	method, uri string
	user        string
	groups      []string
	stage       string
}

// segments and queries are what generated URLs are made of: the API prefixes, groups,
// versions, namespaces and their special subresources, verb prefixes, names that need
// escaping, and non-resource paths.
var (
	segments = []string{
		"api", "api", "apis", "apis", "v1", "v1", "apps", "coordination.k8s.io", "namespaces", "namespaces",
		"kube-system", "prod", "status", "finalize", "pods", "configmaps", "leader-lock", "web",
		"log", "exec", "proxy", "watch", "scale", "healthz", "metrics", "version", "leases",
		"nodes", "n1", "leader%2Dlock", "a%2Fb", "deployments", "openapi",
	}
	queries = []string{
		"", "", "", "?watch=true", "?watch=false", "?watch=1", "?watch=0", "?watch=",
		"?fieldSelector=metadata.name%3Dleader-lock", "?fieldSelector=metadata.name%3D%3Dweb&watch=true",
		"?fieldSelector=metadata.name%21%3Dweb", "?fieldSelector=spec.nodeName%3Dn1,metadata.name%3Dweb",
		"?fieldSelector=metadata.name%3Dweb,metadata.name%3Dleader-lock", "?fieldSelector=metadata.name%3Da%2Fb",
		"?fieldSelector=metadata.name%3D..", "?fieldSelector=metadata.name%3D.", "?fieldSelector=metadata.name%3Da%25b",
		"?limit=abc&fieldSelector=metadata.name%3Dweb", "?limit=5&fieldSelector=metadata.name%3Dweb",
		"?timeoutSeconds=x&fieldSelector=metadata.name%3Dweb", "?fieldSelector=metadata.name%3Dw%5C%2Ceb",
		"?fieldSelector=metadata.name%3Dbad%5Cx", "?fieldSelector=metadata.name%3Dtrail%5C",
		"?fieldSelector=metadata.name", "?fieldSelector=%3D", "?fieldSelector=", "?fieldSelector=metadata.name%3D",
		"?labelSelector=app%3Dweb&fieldSelector=metadata.name%3Dweb", "?verbose", "?a=1;b=2&fieldSelector=metadata.name%3Dweb",
		"?fieldSelector=metadata.name%3Dweb&fieldSelector=metadata.name%3Dother",
	}
	methods = []string{"GET", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}
	users   = []struct {
		name   string
		groups []string
	}{
		{"system:kube-controller-manager", []string{"system:authenticated"}},
		{"alice", []string{"devs", "system:authenticated"}},
		{"bob", []string{"system:masters"}},
	}
	stages = []string{"RequestReceived", "ResponseStarted", "ResponseComplete", "ResponseComplete", "Panic"}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// genRequest makes a request; the table of fixed URLs the issue names comes first.
func genRequest(r *rand.Rand) req {
	var b strings.Builder
	for range r.IntN(8) {
		b.WriteString("/" + pick(r, segments))
	}
	if b.Len() == 0 || r.IntN(8) == 0 {
		b.WriteString("/")
	}
	u := pick(r, users)
	return req{method: pick(r, methods), uri: b.String() + pick(r, queries), user: u.name, groups: u.groups, stage: pick(r, stages)}
}

var fixedURIs = []string{
	"/api/v1/namespaces/kube-system/configmaps", "/api/v1/namespaces/kube-system/configmaps/leader-lock",
	"/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Dleader-lock",
	"/api/v1/watch/namespaces/kube-system/configmaps/leader-lock", "/api/v1/namespaces/prod",
	"/api/v1/namespaces/prod/status", "/api/v1/namespaces/prod/finalize", "/api/v1/namespaces/prod/pods/web/log",
	"/api/v1/namespaces", "/api/v1/nodes/n1/proxy/metrics", "/api/v1/proxy/namespaces/prod/pods/web/x/y",
	"/apis/apps/v1/namespaces/prod/deployments/web/scale", "/apis/apps/v1", "/apis", "/healthz", "/api/v1/watch",
	"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/leader-lock",
}

// genPolicy makes an audit.k8s.io/v1 Policy whose rules use every attribute.
func genPolicy(r *rand.Rand) string {
	levels := []string{"None", "Metadata", "Request", "RequestResponse"}
	quoted := func(xs []string) string {
		q := make([]string, len(xs))
		for i, x := range xs {
			q[i] = fmt.Sprintf("%q", x)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	some := func(xs []string) []string {
		var out []string
		for _, x := range xs {
			if r.IntN(3) == 0 {
				out = append(out, x)
			}
		}
		if len(out) == 0 {
			out = append(out, pick(r, xs))
		}
		return out
	}
	var b strings.Builder
	b.WriteString("apiVersion: audit.k8s.io/v1\nkind: Policy\n")
	if r.IntN(4) == 0 {
		b.WriteString("omitStages: " + quoted(some([]string{"RequestReceived", "ResponseStarted", "Panic"})) + "\n")
	}
	if r.IntN(3) == 0 {
		b.WriteString("omitManagedFields: true\n")
	}
	b.WriteString("rules:\n")
	for range 1 + r.IntN(6) {
		b.WriteString("- level: " + pick(r, levels) + "\n")
		if r.IntN(4) == 0 {
			b.WriteString("  users: " + quoted(some([]string{"system:kube-controller-manager", "alice", "carol"})) + "\n")
		}
		if r.IntN(4) == 0 {
			b.WriteString("  userGroups: " + quoted(some([]string{"system:masters", "devs", "ops"})) + "\n")
		}
		if r.IntN(3) == 0 {
			b.WriteString("  verbs: " + quoted(some([]string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "proxy"})) + "\n")
		}
		switch r.IntN(4) {
		case 0:
			b.WriteString("  nonResourceURLs: " + quoted(some([]string{"/healthz", "/healthz*", "/api*", "*", "/apis/apps/v1", "/apis", "/"})) + "\n")
		case 1, 2:
			if r.IntN(2) == 0 {
				b.WriteString("  namespaces: " + quoted(some([]string{"", "kube-system", "prod"})) + "\n")
			}
			if r.IntN(4) != 0 {
				b.WriteString("  resources:\n")
				for range 1 + r.IntN(2) {
					b.WriteString("  - group: " + fmt.Sprintf("%q", pick(r, []string{"", "", "apps", "coordination.k8s.io"})) + "\n")
					if r.IntN(5) != 0 {
						b.WriteString("    resources: " + quoted(some([]string{"pods", "configmaps", "pods/log", "*/status", "namespaces/status",
							"namespaces/finalize", "namespaces", "pods/*", "*", "leases", "deployments/scale", "nodes", "nodes/proxy", "*//status", "pods/**"})) + "\n")
						if r.IntN(2) == 0 {
							b.WriteString("    resourceNames: " + quoted(some([]string{"leader-lock", "web", "prod", "n1", "a/b"})) + "\n")
						}
					}
				}
			}
		}
		if r.IntN(5) == 0 {
			b.WriteString("  omitStages: " + quoted(some([]string{"RequestReceived", "ResponseStarted", "ResponseComplete"})) + "\n")
		}
		if r.IntN(5) == 0 {
			b.WriteString(fmt.Sprintf("  omitManagedFields: %v\n", r.IntN(2) == 0))
		}
	}
	return b.String()
}

// outcome is what becomes of an event written at RequestResponse with bodies that carry
// managedFields: dropped, or kept at a level, managedFields stripped or not.
type outcome struct {
	Kept     bool
	Level    string
	Stripped bool
}

// want is kube-apiserver's outcome: the policy's decision for the request's attributes.
func want(cfg k8saudit.RequestAuditConfig, stage string) outcome {
	if cfg.Level == auditinternal.LevelNone || slices.Contains(cfg.OmitStages, auditinternal.Stage(stage)) {
		return outcome{}
	}
	return outcome{Kept: true, Level: string(cfg.Level), Stripped: cfg.OmitManagedFields && cfg.Level != auditinternal.LevelMetadata}
}

// got runs auditship's filter over the audit event kube-apiserver writes for the request
// (requestURI as the request's URL gave it, verb and user as its RequestInfo and
// authentication had them) with an objectRef that names the object, as a create's does.
func got(t *testing.T, f *policy.Filter, rq req, u *url.URL, info *request.RequestInfo) outcome {
	t.Helper()
	ev := map[string]any{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse", "auditID": "a1",
		"stage": rq.stage, "requestURI": u.RequestURI(), "verb": info.Verb,
		"user":           map[string]any{"username": rq.user, "groups": rq.groups},
		"requestObject":  map[string]any{"kind": "X", "metadata": map[string]any{"name": "n", "managedFields": []any{map[string]any{"manager": "m"}}}},
		"responseObject": map[string]any{"kind": "X", "metadata": map[string]any{"name": "n", "managedFields": []any{map[string]any{"manager": "m"}}}},
	}
	if info.IsResourceRequest {
		// objectRef as the event carries it, name filled in from the body: what the
		// filter must not match on.
		ev["objectRef"] = map[string]any{"resource": info.Resource, "namespace": info.Namespace, "apiGroup": info.APIGroup,
			"subresource": info.Subresource, "name": "leader-lock"}
	}
	line, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := decode.New("audit")
	evs, err := dec.Decode(line)
	if err != nil {
		t.Fatalf("decode %s: %v", line, err)
	}
	kept, err := f.Apply(evs[0])
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if !kept {
		return outcome{}
	}
	lvl, _ := evs[0].Field("level").(string)
	body, ok := evs[0].Path("requestObject", "metadata")
	if !ok {
		body, _ = evs[0].Path("responseObject", "metadata")
	}
	md, _ := body.(map[string]any)
	_, has := md["managedFields"]
	return outcome{Kept: true, Level: lvl, Stripped: md != nil && !has}
}

// TestRequestInfoAgrees: for every generated request, policy.ParseRequestInfo over the
// event's requestURI and verb gives what kube-apiserver's RequestInfoFactory gives.
func TestRequestInfoAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 6))
	n := 20000
	if testing.Short() {
		n = 3000
	}
	var cases []req
	for _, uri := range fixedURIs {
		for _, m := range methods {
			cases = append(cases, req{method: m, uri: uri})
		}
	}
	for range n {
		cases = append(cases, genRequest(r))
	}
	checked, mismatches := 0, 0
	for _, rq := range cases {
		u, err := url.ParseRequestURI(rq.uri)
		if err != nil {
			continue // not a request kube-apiserver can receive
		}
		info, err := factory.NewRequestInfo(&http.Request{Method: rq.method, URL: u})
		if err != nil {
			continue // answered with an error before any policy is evaluated
		}
		checked++
		ours := policy.ParseRequestInfo(u.RequestURI(), info.Verb)
		theirs := policy.RequestInfo{
			IsResourceRequest: info.IsResourceRequest, Path: info.Path, APIGroup: info.APIGroup,
			Namespace: info.Namespace, Resource: info.Resource, Subresource: info.Subresource, Name: info.Name,
		}
		if ours != theirs {
			if mismatches++; mismatches <= 10 {
				t.Errorf("%s %s (verb %s):\n auditship      %+v\n kube-apiserver %+v", rq.method, u.RequestURI(), info.Verb, ours, theirs)
			}
		}
	}
	if mismatches > 0 {
		t.Fatalf("%d of %d requests parsed differently", mismatches, checked)
	}
	if checked < len(cases)/2 {
		t.Fatalf("only %d of %d requests checked", checked, len(cases))
	}
	t.Logf("%d requests agree", checked)
}

// TestPolicyDecisionsAgree: for generated policies and requests, the audit_policy filter
// keeps or drops each event, at the level and with managedFields as kube-apiserver's
// policy evaluator decides with the attributes its RequestInfoFactory parsed.
func TestPolicyDecisionsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 66))
	policies, perPolicy := 300, 60
	if testing.Short() {
		policies = 60
	}
	issue := `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  resources: [{group: "", resources: [configmaps], resourceNames: [leader-lock]}]
- level: Metadata
`
	docs := []string{issue}
	for range policies {
		docs = append(docs, genPolicy(r))
	}
	decisions, mismatches := 0, 0
	for i, doc := range docs {
		kp, err := k8spolicy.LoadPolicyFromBytes([]byte(doc))
		if err != nil {
			continue // a policy kube-apiserver refuses to start with
		}
		ap, err := policy.Parse([]byte(doc))
		if err != nil {
			t.Fatalf("policy %d: kube-apiserver loads it, auditship does not: %v\n%s", i, err, doc)
		}
		eval := k8spolicy.NewPolicyRuleEvaluator(kp)
		f := policy.New(ap)
		var reqs []req
		if i == 0 {
			for _, uri := range fixedURIs {
				for _, m := range methods {
					reqs = append(reqs, req{method: m, uri: uri, user: "system:kube-controller-manager", stage: "ResponseComplete"})
				}
			}
		}
		for range perPolicy {
			reqs = append(reqs, genRequest(r))
		}
		for _, rq := range reqs {
			u, err := url.ParseRequestURI(rq.uri)
			if err != nil {
				continue
			}
			info, err := factory.NewRequestInfo(&http.Request{Method: rq.method, URL: u})
			if err != nil {
				continue
			}
			attrs := authorizer.AttributesRecord{
				User: &user.DefaultInfo{Name: rq.user, Groups: rq.groups}, Verb: info.Verb,
				Namespace: info.Namespace, APIGroup: info.APIGroup, APIVersion: info.APIVersion,
				Resource: info.Resource, Subresource: info.Subresource, Name: info.Name,
				ResourceRequest: info.IsResourceRequest, Path: info.Path,
			}
			w := want(eval.EvaluatePolicyRule(attrs), rq.stage)
			g := got(t, f, rq, u, info)
			decisions++
			if g != w {
				mismatches++
				if mismatches <= 10 {
					t.Errorf("%s %s stage %s user %s: auditship %+v, kube-apiserver %+v\npolicy:\n%s", rq.method, u.RequestURI(), rq.stage, rq.user, g, w, doc)
				}
			}
		}
	}
	if mismatches > 0 {
		t.Fatalf("%d of %d decisions differ", mismatches, decisions)
	}
	if decisions < policies*perPolicy/3 {
		t.Fatalf("only %d decisions compared", decisions)
	}
	t.Logf("%d decisions agree over %d policies", decisions, len(docs))
}
