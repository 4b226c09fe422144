// Package gen generates a deterministic, realistic stream of Kubernetes audit events (or
// kube-audit-rest AdmissionReview lines): what a busy control plane writes under a
// RequestResponse policy that omits RequestReceived. Lease renewals and system reads
// dominate; node and pod status patches carry big bodies; people and service accounts
// read and write secrets, exec into pods and get denied. Event i depends only on the seed
// and i, so tests, benchmarks and `make demo` can regenerate any slice of it.
package gen

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/pipeline"
)

// Format is the kind of line generated.
type Format uint8

const (
	// FormatAudit is an audit.k8s.io/v1 Event per line, as kube-apiserver writes.
	FormatAudit Format = iota
	// FormatKubeAuditRest is an admission.k8s.io/v1 AdmissionReview per line, as
	// kube-audit-rest writes. Admission webhooks only see writes (and CONNECT), so this
	// format only has the write part of the mix.
	FormatKubeAuditRest
)

// ParseFormat parses "audit" or "kube-audit-rest".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "audit":
		return FormatAudit, nil
	case "kube-audit-rest":
		return FormatKubeAuditRest, nil
	}
	return 0, fmt.Errorf("unknown format %q (audit, kube-audit-rest)", s)
}

// CanaryPrefix starts every secret value when canaries are on, so a test can look for
// leaks: raw, or base64-encoded (CanaryPrefixBase64 is the stable start of its base64).
const CanaryPrefix = "auditship-canary-"

// CanaryPrefixBase64 is the first 20 characters of base64(CanaryPrefix...), the same for
// every value that starts with the prefix.
var CanaryPrefixBase64 = base64.StdEncoding.EncodeToString([]byte(CanaryPrefix))[:20]

// ContainsCanary reports whether b holds a planted canary, raw or base64-encoded.
func ContainsCanary(b []byte) bool {
	s := string(b)
	return strings.Contains(s, CanaryPrefix) || strings.Contains(s, CanaryPrefixBase64)
}

// Generator makes events. It has no mutable state: Event may be called concurrently.
type Generator struct {
	seed     uint64
	format   Format
	canaries bool
	start    time.Time
}

// New returns an audit-format generator for seed.
func New(seed uint64) *Generator {
	return &Generator{seed: seed, start: time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)}
}

// WithFormat returns a copy generating f.
func (g *Generator) WithFormat(f Format) *Generator { c := *g; c.format = f; return &c }

// WithCanaries returns a copy whose secret values (Secret data, tokens, last-applied
// manifests of Secrets) start with CanaryPrefix.
func (g *Generator) WithCanaries(on bool) *Generator { c := *g; c.canaries = on; return &c }

// Category names the kind of request an event models.
type Category string

// The categories of the mix.
const (
	CatLease          Category = "lease"
	CatSystemRead     Category = "system-read"
	CatNodeStatus     Category = "node-status"
	CatPodStatus      Category = "pod-status"
	CatConfigMap      Category = "configmap"
	CatEventCreate    Category = "event-create"
	CatSecretReadSA   Category = "secret-read-sa"
	CatSecretRead     Category = "secret-read-person"
	CatSecretWrite    Category = "secret-write"
	CatTokenReview    Category = "tokenreview"
	CatTokenRequest   Category = "tokenrequest"
	CatHealth         Category = "health"
	CatExec           Category = "exec"
	CatDenied         Category = "denied"
	CatUnauthorized   Category = "unauthorized"
	CatPersonWrite    Category = "person-write"
	CatControllerSync Category = "sa-write"
)

type weighted struct {
	cat    Category
	weight int // per 10000
	write  bool
}

// mix is roughly what a 50-node cluster's audit log holds, per 10000 events.
var mix = []weighted{
	{CatLease, 3200, true},
	{CatSystemRead, 2400, false},
	{CatNodeStatus, 600, true},
	{CatPodStatus, 700, true},
	{CatConfigMap, 250, true},
	{CatEventCreate, 900, true},
	{CatSecretReadSA, 200, false},
	{CatSecretRead, 30, false},
	{CatSecretWrite, 50, true},
	{CatTokenReview, 100, true},
	{CatTokenRequest, 150, true},
	{CatHealth, 800, false},
	{CatExec, 25, true},
	{CatDenied, 80, false},
	{CatUnauthorized, 15, false},
	{CatPersonWrite, 100, true},
	{CatControllerSync, 400, true},
}

var (
	nodes      = []string{"ip-10-0-1-17.ec2.internal", "ip-10-0-1-52.ec2.internal", "ip-10-0-2-9.ec2.internal", "ip-10-0-2-201.ec2.internal", "ip-10-0-3-88.ec2.internal", "ip-10-0-3-140.ec2.internal"}
	namespaces = []string{"default", "payments", "web", "monitoring", "cert-manager", "argocd", "kube-system"}
	appNames   = []string{"checkout", "cart", "frontend", "api", "worker", "search", "auth"}
	people     = []user{
		{"alice@example.com", []string{"devs", "system:authenticated"}},
		{"bob@example.com", []string{"sre", "system:authenticated"}},
		{"kubernetes-admin", []string{"system:masters", "system:authenticated"}},
		{"oidc:carol", []string{"oidc:platform", "system:authenticated"}},
	}
	serviceAccounts = []string{"cert-manager:cert-manager", "argocd:argocd-application-controller", "monitoring:prometheus",
		"kube-system:coredns", "payments:checkout", "web:frontend", "kube-system:external-secrets"}
	controllers = []string{"deployment-controller", "replicaset-controller", "endpointslice-controller", "horizontal-pod-autoscaler", "job-controller"}
)

type user struct {
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
}

func sa(full string) user {
	ns, _, _ := strings.Cut(full, ":")
	return user{"system:serviceaccount:" + full, []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}}
}

func nodeUser(n string) user {
	return user{"system:node:" + n, []string{"system:nodes", "system:authenticated"}}
}

type objectRef struct {
	Resource        string `json:"resource,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	APIGroup        string `json:"apiGroup,omitempty"`
	APIVersion      string `json:"apiVersion,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	Subresource     string `json:"subresource,omitempty"`
}

type responseStatus struct {
	Metadata struct{} `json:"metadata"`
	Status   string   `json:"status,omitempty"`
	Message  string   `json:"message,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Code     int      `json:"code"`
}

// auditEvent has kube-apiserver's field order.
type auditEvent struct {
	Kind                     string            `json:"kind"`
	APIVersion               string            `json:"apiVersion"`
	Level                    string            `json:"level"`
	AuditID                  string            `json:"auditID"`
	Stage                    string            `json:"stage"`
	RequestURI               string            `json:"requestURI"`
	Verb                     string            `json:"verb"`
	User                     user              `json:"user"`
	SourceIPs                []string          `json:"sourceIPs"`
	UserAgent                string            `json:"userAgent"`
	ObjectRef                *objectRef        `json:"objectRef,omitempty"`
	ResponseStatus           *responseStatus   `json:"responseStatus,omitempty"`
	RequestObject            any               `json:"requestObject,omitempty"`
	ResponseObject           any               `json:"responseObject,omitempty"`
	RequestReceivedTimestamp string            `json:"requestReceivedTimestamp"`
	StageTimestamp           string            `json:"stageTimestamp"`
	Annotations              map[string]string `json:"annotations,omitempty"`
}

// call is one modelled request, before it is written in either format.
type call struct {
	cat       Category
	verb      string
	user      user
	agent     string
	ref       *objectRef
	uri       string
	code      int
	reason    string
	req, resp any
	old       any // the stored object before the request (kube-audit-rest oldObject)
	forbid    bool
}

// Event returns line i (no trailing newline).
func (g *Generator) Event(i int) []byte {
	c, s := g.call(i)
	var v any
	if g.format == FormatKubeAuditRest {
		v = admissionReview(c, s)
	} else {
		v = auditOf(c, s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Every value is built from maps, slices, strings and numbers.
		panic(fmt.Sprintf("gen: marshal event %d: %v", i, err))
	}
	return b
}

// Category returns the category of event i.
func (g *Generator) Category(i int) Category {
	c, _ := g.call(i)
	return c.cat
}

func (g *Generator) call(i int) (*call, *src) {
	s := &src{r: rand.New(rand.NewPCG(g.seed, uint64(i))), t: g.start.Add(time.Duration(i) * 3 * time.Millisecond)}
	if g.canaries {
		s.canary = fmt.Sprintf("%s%d-", CanaryPrefix, i)
	}
	for {
		c := g.pick(s)
		// Admission webhooks never see reads; a write category may still model one (a
		// lease get), so kube-audit-rest draws again.
		if g.format == FormatAudit || operations[c.verb] != "" {
			return c, s
		}
	}
}

func (g *Generator) pick(s *src) *call {
	total := 0
	for _, w := range mix {
		if g.format == FormatAudit || w.write {
			total += w.weight
		}
	}
	n := s.intn(total)
	var cat Category
	for _, w := range mix {
		if g.format == FormatKubeAuditRest && !w.write {
			continue
		}
		if n < w.weight {
			cat = w.cat
			break
		}
		n -= w.weight
	}
	c := build(cat, s)
	c.cat = cat
	return c
}

const (
	kubeletAgent = "kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46"
	kcmAgent     = "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/leader-election"
	kubectlAgent = "kubectl/v1.31.1 (darwin/arm64) kubernetes/948afe5"
)

func coreURI(ns, resource, name, sub string) string {
	return apiURI("", "v1", ns, resource, name, sub)
}

func apiURI(group, version, ns, resource, name, sub string) string {
	var b strings.Builder
	if group == "" {
		b.WriteString("/api/" + version)
	} else {
		b.WriteString("/apis/" + group + "/" + version)
	}
	if ns != "" {
		b.WriteString("/namespaces/" + ns)
	}
	b.WriteString("/" + resource)
	if name != "" {
		b.WriteString("/" + name)
	}
	if sub != "" {
		b.WriteString("/" + sub)
	}
	return b.String()
}

func ref(group, version, ns, resource, name, sub string) *objectRef {
	return &objectRef{Resource: resource, Namespace: ns, Name: name, APIGroup: group, APIVersion: version, Subresource: sub}
}

func build(cat Category, s *src) *call {
	c := &call{code: 200}
	switch cat {
	case CatLease:
		var name, ns, holder string
		switch s.intn(10) {
		case 0:
			name, ns, holder, c.user, c.agent = "kube-controller-manager", "kube-system", "cp-1_"+s.uid(), user{"system:kube-controller-manager", []string{"system:authenticated"}}, kcmAgent
		case 1:
			name, ns, holder, c.user, c.agent = "kube-scheduler", "kube-system", "cp-1_"+s.uid(), user{"system:kube-scheduler", []string{"system:authenticated"}}, "kube-scheduler/v1.31.2 (linux/amd64) kubernetes/5864a46/leader-election"
		default:
			n := pick(s, nodes)
			name, ns, holder, c.user, c.agent = n, "kube-node-lease", n, nodeUser(n), kubeletAgent
		}
		c.ref = ref("coordination.k8s.io", "v1", ns, "leases", name, "")
		c.uri = apiURI("coordination.k8s.io", "v1", ns, "leases", name, "")
		l := lease(s, name, ns, holder)
		if s.intn(5) == 0 {
			c.verb, c.resp = "get", l
		} else {
			c.verb, c.req, c.resp, c.old = "update", l, l, lease(s, name, ns, holder)
		}
	case CatSystemRead:
		systemRead(c, s)
	case CatNodeStatus:
		n := pick(s, nodes)
		c.verb, c.user, c.agent = "patch", nodeUser(n), kubeletAgent
		c.ref, c.uri = ref("", "v1", "", "nodes", n, "status"), coreURI("", "nodes", n, "status")
		c.req, c.resp, c.old = nodeStatusPatch(s), node(s, n), node(s, n)
	case CatPodStatus:
		n, app, ns := pick(s, nodes), pick(s, appNames), pick(s, namespaces)
		name := app + "-" + s.hex(10)[:9] + "-" + s.alnum(5)
		c.verb, c.user, c.agent = "patch", nodeUser(n), kubeletAgent
		c.ref, c.uri = ref("", "v1", ns, "pods", name, "status"), coreURI(ns, "pods", name, "status")
		// The kubelet's strategic merge patch: the conditions it changed, in the order it wants.
		st := podStatus(s, app)
		st["$setElementOrder/conditions"] = []any{obj{"type": "Initialized"}, obj{"type": "Ready"}, obj{"type": "ContainersReady"}, obj{"type": "PodScheduled"}}
		c.req = obj{"metadata": obj{"uid": s.uid()}, "status": st}
		c.resp, c.old = pod(s, name, ns, app, n), pod(s, name, ns, app, n)
	case CatConfigMap:
		ns, name := pick(s, namespaces), pick(s, appNames)+"-config"
		c.user, c.agent = sa(pick(s, serviceAccounts)), "Go-http-client/2.0"
		c.ref, c.uri = ref("", "v1", ns, "configmaps", name, ""), coreURI(ns, "configmaps", name, "")
		cm := configMap(s, name, ns, false)
		if s.intn(3) == 0 {
			c.verb, c.req, c.resp, c.old = "update", cm, cm, configMap(s, name, ns, false)
		} else {
			c.verb, c.resp = "get", cm
		}
	case CatEventCreate:
		ns, app := pick(s, namespaces), pick(s, appNames)
		switch s.intn(3) {
		case 0:
			n := pick(s, nodes)
			c.user, c.agent = nodeUser(n), kubeletAgent
		case 1:
			c.user, c.agent = sa("kube-system:"+pick(s, controllers)), kcmAgent
		default:
			c.user, c.agent = user{"system:kube-scheduler", []string{"system:authenticated"}}, "kube-scheduler/v1.31.2"
		}
		e := event(s, ns, "Pod", app+"-"+s.alnum(5), pick(s, []string{"Pulled", "Started", "Created", "Scheduled", "ScalingReplicaSet"}), "kubelet")
		name := e["metadata"].(obj)["name"].(string)
		c.verb, c.req, c.resp = "create", e, e
		c.ref, c.uri = ref("", "v1", ns, "events", name, ""), coreURI(ns, "events", "", "")
	case CatSecretReadSA, CatSecretRead:
		if cat == CatSecretRead {
			c.user, c.agent = pick(s, people), kubectlAgent
		} else {
			c.user, c.agent = sa(pick(s, serviceAccounts)), "Go-http-client/2.0"
		}
		ns := pick(s, namespaces)
		if s.intn(3) == 0 {
			c.verb, c.ref, c.uri = "list", ref("", "v1", ns, "secrets", "", ""), coreURI(ns, "secrets", "", "")
			items := []any{}
			for range 2 + s.intn(5) {
				items = append(items, secret(s, pick(s, appNames)+"-"+pick(s, []string{"db", "tls", "api"}), ns, s.intn(2) == 0))
			}
			c.resp = list("SecretList", "v1", items)
		} else {
			name := pick(s, appNames) + "-db"
			c.verb, c.ref, c.uri = "get", ref("", "v1", ns, "secrets", name, ""), coreURI(ns, "secrets", name, "")
			c.resp = secret(s, name, ns, s.intn(2) == 0)
		}
	case CatSecretWrite:
		secretWrite(c, s)
	case CatTokenReview:
		c.verb, c.user, c.agent = "create", sa("monitoring:prometheus-adapter"), "Go-http-client/2.0"
		c.ref, c.uri = ref("authentication.k8s.io", "v1", "", "tokenreviews", "", ""), apiURI("authentication.k8s.io", "v1", "", "tokenreviews", "", "")
		tok := s.jwt()
		c.req = obj{"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1", "metadata": obj{"creationTimestamp": nil}, "spec": obj{"token": tok, "audiences": []any{"https://kubernetes.default.svc"}}, "status": obj{"user": obj{}}}
		c.resp = obj{"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1", "metadata": obj{"creationTimestamp": nil}, "spec": obj{"token": tok, "audiences": []any{"https://kubernetes.default.svc"}},
			"status": obj{"authenticated": true, "user": obj{"username": "system:serviceaccount:" + pick(s, serviceAccounts), "uid": s.uid(), "groups": []any{"system:serviceaccounts", "system:authenticated"}}, "audiences": []any{"https://kubernetes.default.svc"}}}
	case CatTokenRequest:
		n, ns, app := pick(s, nodes), pick(s, namespaces), pick(s, appNames)
		c.verb, c.user, c.agent = "create", nodeUser(n), kubeletAgent
		c.ref, c.uri = ref("", "v1", ns, "serviceaccounts", app, "token"), coreURI(ns, "serviceaccounts", app, "token")
		spec := obj{"audiences": []any{"https://kubernetes.default.svc"}, "expirationSeconds": 3607, "boundObjectRef": obj{"kind": "Pod", "apiVersion": "v1", "name": app + "-" + s.alnum(5), "uid": s.uid()}}
		c.req = obj{"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": obj{"creationTimestamp": nil}, "spec": spec, "status": obj{"token": "", "expirationTimestamp": nil}}
		c.resp = obj{"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": obj{"name": app, "namespace": ns, "creationTimestamp": s.ts(0)}, "spec": spec,
			"status": obj{"token": s.jwt(), "expirationTimestamp": s.ts(time.Hour)}}
	case CatHealth:
		c.verb = "get"
		c.uri = pick(s, []string{"/healthz", "/livez", "/readyz", "/readyz?verbose", "/livez/etcd", "/metrics", "/version"})
		if strings.HasPrefix(c.uri, "/metrics") {
			c.user, c.agent = sa("monitoring:prometheus"), "Prometheus/2.54.1"
		} else {
			c.user, c.agent = user{"system:anonymous", []string{"system:unauthenticated"}}, "kube-probe/1.31"
		}
	case CatExec:
		ns, app := pick(s, namespaces), pick(s, appNames)
		name := app + "-" + s.hex(9) + "-" + s.alnum(5)
		sub := "exec"
		if s.intn(5) == 0 {
			sub = "attach"
		}
		c.verb, c.user, c.agent = "create", pick(s, people), kubectlAgent
		c.ref = ref("", "v1", ns, "pods", name, sub)
		c.uri = coreURI(ns, "pods", name, sub) + "?command=" + pick(s, []string{"sh", "bash", "cat&command=%2Fetc%2Fpasswd", "env"}) + "&container=" + app + "&stdin=true&stdout=true&tty=true"
		if sub == "attach" {
			c.uri = coreURI(ns, "pods", name, sub) + "?container=" + app + "&stdin=true&stdout=true&tty=true"
		}
		c.code = 101
		c.req = obj{"kind": "PodExecOptions", "apiVersion": "v1", "stdin": true, "stdout": true, "tty": true, "container": app}
	case CatDenied:
		ns := pick(s, namespaces)
		if s.intn(2) == 0 {
			c.user, c.agent = pick(s, people), kubectlAgent
			c.verb, c.ref, c.uri = "delete", ref("apps", "v1", ns, "deployments", pick(s, appNames), ""), apiURI("apps", "v1", ns, "deployments", pick(s, appNames), "")
		} else {
			c.user, c.agent = sa(pick(s, serviceAccounts)), "Go-http-client/2.0"
			c.verb, c.ref, c.uri = "list", ref("", "v1", "kube-system", "secrets", "", ""), coreURI("kube-system", "secrets", "", "")
		}
		c.code, c.forbid, c.reason = 403, true, "Forbidden"
		c.resp = status(403, "Forbidden", fmt.Sprintf("%s %q is forbidden: User %q cannot %s resource %q in API group %q in the namespace %q",
			c.ref.Resource, c.ref.Name, c.user.Username, c.verb, c.ref.Resource, c.ref.APIGroup, c.ref.Namespace))
	case CatUnauthorized:
		c.verb, c.agent, c.code, c.reason = "get", "curl/8.5.0", 401, "Unauthorized"
		c.uri = pick(s, []string{"/api/v1/namespaces/kube-system/secrets", "/apis", "/api/v1/nodes"})
		c.resp = status(401, "Unauthorized", "Unauthorized")
	case CatPersonWrite:
		personWrite(c, s)
	case CatControllerSync:
		ctrl := pick(s, controllers)
		c.user, c.agent = sa("kube-system:"+ctrl), kcmAgent
		ns, app := pick(s, namespaces), pick(s, appNames)
		if ctrl == "endpointslice-controller" || s.intn(2) == 0 {
			es := endpointSlice(s, app, ns)
			name := es["metadata"].(obj)["name"].(string)
			c.verb, c.req, c.resp, c.old = "update", es, es, endpointSlice(s, app, ns)
			c.ref, c.uri = ref("discovery.k8s.io", "v1", ns, "endpointslices", name, ""), apiURI("discovery.k8s.io", "v1", ns, "endpointslices", name, "")
		} else {
			name := app + "-" + s.hex(10)[:9] + "-" + s.alnum(5)
			p := pod(s, name, ns, app, "")
			c.verb, c.req, c.resp = "create", p, p
			c.ref, c.uri = ref("", "v1", ns, "pods", "", ""), coreURI(ns, "pods", "", "")
		}
	}
	return c
}

func systemRead(c *call, s *src) {
	switch s.intn(5) {
	case 0:
		c.user, c.agent = user{"system:kube-proxy", []string{"system:authenticated"}}, "kube-proxy/v1.31.2"
		c.verb, c.ref, c.uri = "watch", ref("discovery.k8s.io", "v1", "", "endpointslices", "", ""), apiURI("discovery.k8s.io", "v1", "", "endpointslices", "", "")+"?allowWatchBookmarks=true&resourceVersion=123&timeout=9m12s&timeoutSeconds=552&watch=true"
	case 1:
		n := pick(s, nodes)
		c.user, c.agent = nodeUser(n), kubeletAgent
		c.verb, c.ref, c.uri = "get", ref("", "v1", "", "nodes", n, ""), coreURI("", "nodes", n, "")+"?resourceVersion=0&timeout=10s"
		c.resp = node(s, n)
	case 2:
		ns := pick(s, namespaces)
		c.user, c.agent = sa("kube-system:"+pick(s, controllers)), kcmAgent
		c.verb, c.ref, c.uri = "list", ref("", "v1", ns, "pods", "", ""), coreURI(ns, "pods", "", "")+"?labelSelector=app%3D"+pick(s, appNames)
		items := []any{}
		for range 1 + s.intn(3) {
			app := pick(s, appNames)
			items = append(items, pod(s, app+"-"+s.alnum(5), ns, app, pick(s, nodes)))
		}
		c.resp = list("PodList", "v1", items)
	case 3:
		ns, name := pick(s, namespaces), pick(s, appNames)+"-config"
		c.user, c.agent = sa("kube-system:coredns"), "coredns/v1.11.3"
		c.verb, c.ref, c.uri = "get", ref("", "v1", ns, "configmaps", name, ""), coreURI(ns, "configmaps", name, "")
		c.resp = configMap(s, name, ns, false)
	default:
		c.user, c.agent = user{"system:kube-scheduler", []string{"system:authenticated"}}, "kube-scheduler/v1.31.2"
		c.verb, c.ref, c.uri = "watch", ref("", "v1", "", "pods", "", ""), coreURI("", "pods", "", "")+"?fieldSelector=status.phase%21%3DSucceeded&watch=true"
	}
}

func secretWrite(c *call, s *src) {
	ns, name := pick(s, namespaces), pick(s, appNames)+"-"+pick(s, []string{"db", "tls", "api"})
	if s.intn(2) == 0 {
		c.user, c.agent = pick(s, people), kubectlAgent
	} else {
		c.user, c.agent = sa("kube-system:external-secrets"), "external-secrets/v0.10.4"
	}
	c.ref, c.uri = ref("", "v1", ns, "secrets", name, ""), coreURI(ns, "secrets", name, "")
	sec, old := secret(s, name, ns, c.agent == kubectlAgent), secret(s, name, ns, false)
	switch s.intn(4) {
	case 0:
		c.verb, c.req, c.resp, c.code = "create", sec, sec, 201
		c.ref.Name, c.uri = "", coreURI(ns, "secrets", "", "")
	case 1:
		c.verb, c.req, c.resp, c.old = "update", sec, sec, old
	case 2:
		c.verb, c.req, c.resp, c.old = "patch", obj{"data": sec["data"]}, sec, old
		c.uri += "?fieldManager=kubectl-edit"
	default:
		c.verb, c.resp, c.old = "patch", sec, old
		c.req = []any{obj{"op": "replace", "path": "/data/password", "value": base64.StdEncoding.EncodeToString([]byte(s.secretValue(32)))}}
	}
}

func personWrite(c *call, s *src) {
	ns, app := pick(s, namespaces), pick(s, appNames)
	c.user, c.agent = pick(s, people), kubectlAgent
	switch s.intn(5) {
	case 0:
		d := deployment(s, app, ns, 2+s.intn(5))
		c.verb, c.req, c.resp, c.old = "patch", obj{"metadata": obj{"annotations": obj{"kubectl.kubernetes.io/last-applied-configuration": d["metadata"].(obj)["annotations"].(obj)["kubectl.kubernetes.io/last-applied-configuration"]}}, "spec": obj{"replicas": d["spec"].(obj)["replicas"]}}, d, deployment(s, app, ns, 2)
		c.ref, c.uri = ref("apps", "v1", ns, "deployments", app, ""), apiURI("apps", "v1", ns, "deployments", app, "")+"?fieldManager=kubectl-client-side-apply&fieldValidation=Strict"
	case 1:
		d := deployment(s, app, ns, 2+s.intn(5))
		c.verb, c.req, c.resp, c.code = "create", d, d, 201
		c.ref, c.uri = ref("apps", "v1", ns, "deployments", "", ""), apiURI("apps", "v1", ns, "deployments", "", "")+"?fieldManager=kubectl-client-side-apply"
	case 2:
		cm := configMap(s, app+"-config", ns, true)
		c.verb, c.req, c.resp, c.old = "update", cm, cm, configMap(s, app+"-config", ns, true)
		c.ref, c.uri = ref("", "v1", ns, "configmaps", app+"-config", ""), coreURI(ns, "configmaps", app+"-config", "")
	case 3:
		svc := service(s, app, ns)
		c.verb, c.req, c.resp, c.code = "create", svc, svc, 201
		c.ref, c.uri = ref("", "v1", ns, "services", "", ""), coreURI(ns, "services", "", "")+"?fieldManager=kubectl-client-side-apply&fieldValidation=Strict"
	default:
		name := app + "-" + s.hex(9) + "-" + s.alnum(5)
		// Deleting a pod answers with the pod, marked for deletion (a Status is what
		// objects deleted at once answer with).
		p := pod(s, name, ns, app, pick(s, nodes))
		p["metadata"].(obj)["deletionTimestamp"], p["metadata"].(obj)["deletionGracePeriodSeconds"] = s.ts(30*time.Second), 30
		c.verb, c.req, c.resp, c.old = "delete", obj{"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1", "propagationPolicy": "Background"}, p, p
		c.ref, c.uri = ref("", "v1", ns, "pods", name, ""), coreURI(ns, "pods", name, "")
	}
}

func auditOf(c *call, s *src) *auditEvent {
	ev := &auditEvent{
		Kind: "Event", APIVersion: "audit.k8s.io/v1", Level: "RequestResponse", AuditID: s.uid(),
		Stage: "ResponseComplete", RequestURI: c.uri, Verb: c.verb, User: c.user,
		SourceIPs: []string{fmt.Sprintf("10.0.%d.%d", s.intn(4), 2+s.intn(250))}, UserAgent: c.agent,
		ObjectRef: c.ref, RequestObject: c.req, ResponseObject: c.resp,
		RequestReceivedTimestamp: s.micro(0), StageTimestamp: s.micro(time.Duration(1+s.intn(40)) * time.Millisecond),
		Annotations: map[string]string{"authorization.k8s.io/decision": "allow",
			"authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding \"system:" + strings.TrimPrefix(c.user.Username, "system:") + "\""},
	}
	ev.ResponseStatus = &responseStatus{Code: c.code}
	switch {
	case c.cat == CatUnauthorized:
		ev.User = user{}
		ev.Annotations = nil
		ev.ResponseStatus = &responseStatus{Status: "Failure", Message: "Unauthorized", Reason: "Unauthorized", Code: 401}
	case c.forbid:
		ev.Annotations = map[string]string{"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""}
		ev.ResponseStatus = &responseStatus{Status: "Failure", Message: "forbidden", Reason: "Forbidden", Code: 403}
	case c.ref == nil:
		ev.Annotations = map[string]string{"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding \"system:public-info-viewer\""}
	}
	if c.verb == "watch" {
		ev.Stage = "ResponseStarted"
	}
	return ev
}

var operations = map[string]string{"create": "CREATE", "update": "UPDATE", "patch": "UPDATE", "delete": "DELETE"}

// admissionReview writes c as kube-audit-rest logs it: the webhook sees the object after
// the change (for a patch, the patched object) and the stored one before it.
func admissionReview(c *call, s *src) obj {
	op := operations[c.verb]
	object, old := c.req, c.old
	if c.verb == "patch" {
		object = c.resp
	}
	if c.verb == "delete" {
		object = c.req
	}
	sub := ""
	if c.ref.Subresource != "" {
		sub = c.ref.Subresource
		if sub == "exec" || sub == "attach" {
			op = "CONNECT"
		}
	}
	kind := ""
	if m, ok := object.(obj); ok {
		kind, _ = m["kind"].(string)
	}
	gvr := obj{"group": c.ref.APIGroup, "version": c.ref.APIVersion, "resource": c.ref.Resource}
	req := obj{
		"uid": s.uid(), "kind": obj{"group": c.ref.APIGroup, "version": c.ref.APIVersion, "kind": kind},
		"resource": gvr, "requestKind": obj{"group": c.ref.APIGroup, "version": c.ref.APIVersion, "kind": kind}, "requestResource": gvr,
		"name": c.ref.Name, "namespace": c.ref.Namespace, "operation": op,
		"userInfo": obj{"username": c.user.Username, "groups": c.user.Groups},
		"object":   object, "oldObject": old, "dryRun": false,
		"options": obj{"kind": strings.ToUpper(op[:1]) + strings.ToLower(op[1:]) + "Options", "apiVersion": "meta.k8s.io/v1"},
	}
	if sub != "" {
		req["subResource"] = sub
	}
	return obj{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": req, "requestReceivedTimestamp": s.micro(0)}
}

// WriteEvents writes events [0, n) as lines to w and returns the bytes written.
func (g *Generator) WriteEvents(w io.Writer, n int) (int64, error) {
	return g.write(w, func(i int, _ int64) bool { return i < n })
}

// WriteBytes writes whole events until at least size bytes were written, and returns the
// number of events.
func (g *Generator) WriteBytes(w io.Writer, size int64) (int, error) {
	count := 0
	_, err := g.write(w, func(i int, written int64) bool {
		if written >= size {
			return false
		}
		count = i + 1
		return true
	})
	return count, err
}

func (g *Generator) write(w io.Writer, more func(i int, written int64) bool) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	var written int64
	for i := 0; more(i, written); i++ {
		line := g.Event(i)
		if _, err := bw.Write(line); err != nil {
			return written, fmt.Errorf("write event %d: %w", i, err)
		}
		if err := bw.WriteByte('\n'); err != nil {
			return written, fmt.Errorf("write event %d: %w", i, err)
		}
		written += int64(len(line)) + 1
	}
	if err := bw.Flush(); err != nil {
		return written, fmt.Errorf("flush: %w", err)
	}
	return written, nil
}

// Decoded returns events [from, from+n) decoded as the audit decoder does (the original
// bytes plus fields as pipeline.DecodeJSON decodes them), for benchmarks and tests of filters.
func (g *Generator) Decoded(from, n int) ([]*pipeline.Event, error) {
	out := make([]*pipeline.Event, 0, n)
	for i := from; i < from+n; i++ {
		line := g.Event(i)
		var m map[string]any
		if err := pipeline.DecodeJSON(line, &m); err != nil {
			return nil, fmt.Errorf("decode event %d: %w", i, err)
		}
		out = append(out, pipeline.NewEvent(line, m, pipeline.SourceAudit))
	}
	return out, nil
}

// Bench runs apply over fresh generated events b.N times, re-decoding (off the clock)
// whenever a batch was used up, since filters change the events they redact.
func (g *Generator) Bench(b *testing.B, apply func(*pipeline.Event) (bool, error)) {
	const batch = 2000
	b.Helper()
	b.ReportAllocs()
	var evs []*pipeline.Event
	var size int64
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		if i%batch == 0 {
			b.StopTimer()
			var err error
			if evs, err = g.Decoded(0, batch); err != nil {
				b.Fatal(err)
			}
			if size == 0 {
				for _, e := range evs {
					size += int64(e.InBytes)
				}
			}
			// Collect the decoding garbage now, or the timed filter pays for it.
			runtime.GC()
			b.StartTimer()
		}
		if _, err := apply(evs[i%batch]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.SetBytes(size / batch)
}

// EscapedKeys returns the number of object keys in the JSON line that hold an escape
// (managedFields' "k:{\"name\":\"app\"}", say). A string token followed by a colon is
// a key: in valid JSON no other string is.
func EscapedKeys(line []byte) int {
	n := 0
	for i := 0; i < len(line); i++ {
		if line[i] != '"' {
			continue
		}
		esc := false
		j := i + 1
		for ; j < len(line) && line[j] != '"'; j++ {
			if line[j] == '\\' {
				esc = true
				j++
			}
		}
		k := j + 1
		for k < len(line) && (line[k] == ' ' || line[k] == '\t' || line[k] == '\n' || line[k] == '\r') {
			k++
		}
		if esc && k < len(line) && line[k] == ':' {
			n++
		}
		i = j
	}
	return n
}
