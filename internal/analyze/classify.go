// Package analyze measures where the bytes of an audit log go: it groups events by who
// made the request (user class and user), what it was (verb, resource, namespace class)
// and how it was recorded (level, stage), prices each group in bytes, marks the groups
// that carry security signals, and suggests the filters that cut the rest.
package analyze

import (
	"strconv"
	"strings"

	"github.com/auditship/auditship/pipeline"
)

// User classes, from the username kube-apiserver authenticated (user.username):
//   - anonymous: "system:anonymous" or no user at all (a request rejected before
//     authentication, or a member of system:unauthenticated);
//   - serviceaccount: "system:serviceaccount:<namespace>:<name>", grouped by namespace;
//   - node: "system:node:<name>" (kubelets), grouped as one;
//   - control-plane: any other "system:" user (kube-controller-manager, kube-scheduler,
//     kube-proxy, the API server itself), each on its own;
//   - person: everything else (certificate or OIDC users), each on their own, and a
//     "system:" user in the group system:masters other than the API server's own loopback
//     client (system:apiserver): k3s's and OpenShift's administrator is "system:admin" in
//     system:masters, a person whose writes, Secret reads and RBAC changes are signals; a
//     certificate named system:* must not hide the cluster's superuser among components.
const (
	ClassPerson         = "person"
	ClassServiceAccount = "serviceaccount"
	ClassNode           = "node"
	ClassControlPlane   = "control-plane"
	ClassAnonymous      = "anonymous"
)

// Signal names. A signal is a reason a security team wants an event in its SIEM; the
// set follows what audit-logging guides for Kubernetes alert on (access to credentials
// and RBAC, writes, denials, interactive access, identity changes). Signals is the rule.
const (
	SignalPersonWrite      = "person-write"         // create/update/patch/delete(collection) by a person
	SignalSAWrite          = "serviceaccount-write" // the same by a service account, except leases and events
	SignalSecretAccess     = "secret-access"        // any verb on core secrets by a person or service account
	SignalTokenAccess      = "token-access"         // TokenRequest (serviceaccounts/token) or TokenReview, same users
	SignalRBACAccess       = "rbac-access"          // any verb on rbac.authorization.k8s.io, same users
	SignalDenied           = "denied"               // HTTP 401/403 or authorizer decision "forbid"
	SignalInteractive      = "exec-attach-portforward"
	SignalImpersonation    = "impersonation"     // impersonatedUser is set
	SignalAnonymousAllowed = "anonymous-allowed" // an anonymous request that was not denied
)

// AllSignals lists every signal name in report order.
var AllSignals = []string{
	SignalPersonWrite, SignalSAWrite, SignalSecretAccess, SignalTokenAccess, SignalRBACAccess,
	SignalDenied, SignalInteractive, SignalImpersonation, SignalAnonymousAllowed,
}

// SignalExpr is the filter expression (expr-lang, as `when:` in a keep filter) that is
// true exactly when Signals finds at least one signal; the emitted config keeps what it
// matches. TestSignalExprAgrees checks the two agree on every event of the corpora.
const SignalExpr = `let u = type(user?.username) == "string" ? user.username : "";
let groups = type(user?.groups) == "array" ? user.groups : [];
let anon = u == "" || u == "system:anonymous" || "system:unauthenticated" in groups;
let sa = !anon && u startsWith "system:serviceaccount:";
let person = !anon && (!(u startsWith "system:")
    || ("system:masters" in groups && u != "system:apiserver" && !sa && !(u startsWith "system:node:")));
let res = type(objectRef?.resource) == "string" ? objectRef.resource : "";
let grp = type(objectRef?.apiGroup) == "string" ? objectRef.apiGroup : "";
let sub = type(objectRef?.subresource) == "string" ? objectRef.subresource : "";
let write = type(verb) == "string" && verb in ["create", "update", "patch", "delete", "deletecollection"];
let denied = responseStatus?.code in [401, 403] || annotations?.["authorization.k8s.io/decision"] == "forbid";
denied
|| (res == "pods" && sub in ["exec", "attach", "portforward"])
|| impersonatedUser != nil
|| anon
|| (write && person)
|| (write && sa && !(res in ["leases", "events"]))
|| ((person || sa) && ((res == "secrets" && grp == "")
    || (res == "serviceaccounts" && sub == "token" && grp == "")
    || (res == "tokenreviews" && grp == "authentication.k8s.io")
    || grp == "rbac.authorization.k8s.io"))`

// loopbackUser is the API server's own client (kube-apiserver's loopback configuration:
// user system:apiserver in group system:masters): a component, not a person.
const loopbackUser = "system:apiserver"

// writeVerbs are the verbs that change state (kube-apiserver's RequestInfo verbs).
var writeVerbs = map[string]bool{"create": true, "update": true, "patch": true, "delete": true, "deletecollection": true}

// Attrs are the attributes of one event that grouping and signals read.
type Attrs struct {
	Username, UserClass, User                              string
	Verb, Resource, Subresource, APIGroup, Namespace, Name string
	Level, Stage                                           string
	Code                                                   int
	Decision                                               string
	Impersonated, Unauthenticated, Masters                 bool
	NonResourcePath                                        string
}

var (
	userNames = []string{"username"}
	refNames  = []string{"resource", "subresource", "apiGroup", "namespace", "name"}
)

// Read reads the attributes of ev without decoding its bodies.
func Read(ev *pipeline.Event) Attrs {
	var a Attrs
	var buf [5]string
	ev.Strings("user", userNames, buf[:1])
	a.Username = buf[0]
	if g, ok := ev.Path("user", "groups"); ok {
		if list, ok := g.([]any); ok {
			for _, x := range list {
				switch s, _ := x.(string); s {
				case "system:unauthenticated":
					a.Unauthenticated = true
				case "system:masters":
					a.Masters = true
				}
			}
		}
	}
	a.Verb, _ = str(ev.Field("verb"))
	a.Level, _ = str(ev.Field("level"))
	a.Stage, _ = str(ev.Field("stage"))
	if ev.Strings("objectRef", refNames, buf[:]) {
		a.Resource, a.Subresource, a.APIGroup, a.Namespace, a.Name = buf[0], buf[1], buf[2], buf[3], buf[4]
	} else {
		uri, _ := str(ev.Field("requestURI"))
		if i := strings.IndexByte(uri, '?'); i >= 0 {
			uri = uri[:i]
		}
		a.NonResourcePath = uri
	}
	if c, ok := ev.Path("responseStatus", "code"); ok {
		a.Code = toInt(c)
	}
	if d, ok := ev.Path("annotations", "authorization.k8s.io/decision"); ok {
		a.Decision, _ = d.(string)
	}
	if v, ok := ev.Lookup("impersonatedUser"); ok && v != nil {
		a.Impersonated = true
	}
	a.UserClass, a.User = classify(a.Username, a.Unauthenticated, a.Masters)
	return a
}

func str(v any) (string, bool) { s, ok := v.(string); return s, ok }

// toInt reads a JSON number however the event decoded it (float64, json.Number, int).
func toInt(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	case interface {
		Int64() (int64, error)
		Float64() (float64, error)
	}:
		if i, err := n.Int64(); err == nil {
			return int(i)
		}
		// 403.0 or 4.03e2 (a shipper that re-encoded the number) is 403, as the filter
		// expression compares numbers by value.
		if f, err := n.Float64(); err == nil && f == float64(int(f)) {
			return int(f)
		}
	}
	return 0
}

// classify returns the user class and the user as grouped (service accounts by
// namespace, nodes as one); masters: the user is in the group system:masters.
func classify(username string, unauthenticated, masters bool) (class, user string) {
	switch {
	case username == "" || username == "system:anonymous" || unauthenticated:
		return ClassAnonymous, "system:anonymous"
	case strings.HasPrefix(username, "system:serviceaccount:"):
		rest := strings.TrimPrefix(username, "system:serviceaccount:")
		ns, _, _ := strings.Cut(rest, ":")
		return ClassServiceAccount, "system:serviceaccount:" + ns + ":*"
	case strings.HasPrefix(username, "system:node:"):
		return ClassNode, "system:node:*"
	case strings.HasPrefix(username, "system:") && !(masters && username != loopbackUser):
		return ClassControlPlane, username
	}
	return ClassPerson, username
}

// Denied reports whether the request was refused: HTTP 401 or 403, or an authorizer
// decision of "forbid" (kube-apiserver's authorization.k8s.io/decision annotation).
func (a *Attrs) Denied() bool {
	return a.Code == 401 || a.Code == 403 || a.Decision == "forbid"
}

// Write reports whether the verb changes state.
func (a *Attrs) Write() bool { return writeVerbs[a.Verb] }

// Signals appends the names of the signals the event carries to dst.
func (a *Attrs) Signals(dst []string) []string {
	person := a.UserClass == ClassPerson
	sa := a.UserClass == ClassServiceAccount
	anon := a.UserClass == ClassAnonymous
	write := a.Write()
	if write && person {
		dst = append(dst, SignalPersonWrite)
	}
	if write && sa && a.Resource != "leases" && a.Resource != "events" {
		dst = append(dst, SignalSAWrite)
	}
	if person || sa {
		switch {
		case a.Resource == "secrets" && a.APIGroup == "":
			dst = append(dst, SignalSecretAccess)
		case a.Resource == "serviceaccounts" && a.Subresource == "token" && a.APIGroup == "",
			a.Resource == "tokenreviews" && a.APIGroup == "authentication.k8s.io":
			dst = append(dst, SignalTokenAccess)
		case a.APIGroup == "rbac.authorization.k8s.io":
			dst = append(dst, SignalRBACAccess)
		}
	}
	if a.Denied() {
		dst = append(dst, SignalDenied)
	}
	if a.Resource == "pods" && (a.Subresource == "exec" || a.Subresource == "attach" || a.Subresource == "portforward") {
		dst = append(dst, SignalInteractive)
	}
	if a.Impersonated {
		dst = append(dst, SignalImpersonation)
	}
	if anon && !a.Denied() {
		dst = append(dst, SignalAnonymousAllowed)
	}
	return dst
}

// NamespaceClass is "cluster" for cluster-scoped and non-resource requests, "system" for
// the namespaces Kubernetes and its add-ons run in (kube-*), else "workload".
func (a *Attrs) NamespaceClass() string {
	switch {
	case a.Namespace == "":
		return "cluster"
	case strings.HasPrefix(a.Namespace, "kube-"):
		return "system"
	}
	return "workload"
}

// ResourceName is "resource[/subresource][.group]", or "nonresource:<path>" for a
// request without objectRef (paths cut to their first two segments so /openapi/v3/...
// does not make a group per document), or `"resource"/"subresource"."group"` when a part
// holds one of the separators.
func (a *Attrs) ResourceName() string {
	if a.Resource == "" {
		p := a.NonResourcePath
		if parts := strings.SplitN(p, "/", 4); len(parts) == 4 {
			p = strings.Join(parts[:3], "/") + "/*"
		}
		return "nonresource:" + p
	}
	if strings.ContainsAny(a.Resource, `./":`) || strings.ContainsAny(a.Subresource, `./"`) || strings.ContainsAny(a.APIGroup, `/"`) {
		// The parts hold the separators (a request path chose them): each part quoted,
		// so two different objects never share a group (splitResource reads it back).
		return strconv.Quote(a.Resource) + "/" + strconv.Quote(a.Subresource) + "." + strconv.Quote(a.APIGroup)
	}
	r := a.Resource
	if a.Subresource != "" {
		r += "/" + a.Subresource
	}
	if a.APIGroup != "" {
		r += "." + a.APIGroup
	}
	return r
}
