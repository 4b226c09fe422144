// One model per category of request: who sends it, its verb, URI and bodies. Each draws
// from the event's random source in a fixed order, which is what keeps event i stable.

package gen

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

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

// build models one request of category cat; each category's model draws from s in a
// fixed order, so event i is the same for a seed whatever else changes.
func build(cat Category, s *src) *call {
	c := &call{code: 200}
	switch cat {
	case CatLease:
		leaseCall(c, s)
	case CatSystemRead:
		systemRead(c, s)
	case CatNodeStatus:
		nodeStatusCall(c, s)
	case CatPodStatus:
		podStatusCall(c, s)
	case CatConfigMap:
		configMapCall(c, s)
	case CatEventCreate:
		eventCreate(c, s)
	case CatSecretReadSA, CatSecretRead:
		secretRead(c, s, cat)
	case CatSecretWrite:
		secretWrite(c, s)
	case CatTokenReview:
		tokenReview(c, s)
	case CatTokenRequest:
		tokenRequest(c, s)
	case CatHealth:
		healthCheck(c, s)
	case CatExec:
		execCall(c, s)
	case CatDenied:
		deniedCall(c, s)
	case CatUnauthorized:
		unauthorizedCall(c, s)
	case CatPersonWrite:
		personWrite(c, s)
	case CatControllerSync:
		controllerSync(c, s)
	}
	return c
}

// leaseCall models a leader-election or node lease renewal (or, one in five, its read).
func leaseCall(c *call, s *src) {
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
}

// nodeStatusCall models a kubelet patching its node's status.
func nodeStatusCall(c *call, s *src) {
	n := pick(s, nodes)
	c.verb, c.user, c.agent = "patch", nodeUser(n), kubeletAgent
	c.ref, c.uri = ref("", "v1", "", "nodes", n, "status"), coreURI("", "nodes", n, "status")
	c.req, c.resp, c.old = nodeStatusPatch(s), node(s, n), node(s, n)
}

// podStatusCall models a kubelet patching a pod's status.
func podStatusCall(c *call, s *src) {
	n, app, ns := pick(s, nodes), pick(s, appNames), pick(s, namespaces)
	name := app + "-" + s.hex(10)[:9] + "-" + s.alnum(5)
	c.verb, c.user, c.agent = "patch", nodeUser(n), kubeletAgent
	c.ref, c.uri = ref("", "v1", ns, "pods", name, "status"), coreURI(ns, "pods", name, "status")
	// The kubelet's strategic merge patch: the conditions it changed, in the order it wants.
	st := podStatus(s, app)
	st["$setElementOrder/conditions"] = []any{obj{"type": "Initialized"}, obj{"type": "Ready"}, obj{"type": "ContainersReady"}, obj{"type": "PodScheduled"}}
	c.req = obj{"metadata": obj{"uid": s.uid()}, "status": st}
	c.resp, c.old = pod(s, name, ns, app, n), pod(s, name, ns, app, n)
}

// configMapCall models a service account reading or updating a ConfigMap.
func configMapCall(c *call, s *src) {
	ns, name := pick(s, namespaces), pick(s, appNames)+"-config"
	c.user, c.agent = sa(pick(s, serviceAccounts)), "Go-http-client/2.0"
	c.ref, c.uri = ref("", "v1", ns, "configmaps", name, ""), coreURI(ns, "configmaps", name, "")
	cm := configMap(s, name, ns, false)
	if s.intn(3) == 0 {
		c.verb, c.req, c.resp, c.old = "update", cm, cm, configMap(s, name, ns, false)
	} else {
		c.verb, c.resp = "get", cm
	}
}

// eventCreate models a kubelet, controller or the scheduler creating an Event.
func eventCreate(c *call, s *src) {
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
}

// secretRead models a person (CatSecretRead) or a service account getting or listing secrets.
func secretRead(c *call, s *src, cat Category) {
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
}

// tokenReview models a TokenReview: the token is in both bodies.
func tokenReview(c *call, s *src) {
	c.verb, c.user, c.agent = "create", sa("monitoring:prometheus-adapter"), "Go-http-client/2.0"
	c.ref, c.uri = ref("authentication.k8s.io", "v1", "", "tokenreviews", "", ""), apiURI("authentication.k8s.io", "v1", "", "tokenreviews", "", "")
	tok := s.jwt()
	c.req = obj{"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1", "metadata": obj{"creationTimestamp": nil}, "spec": obj{"token": tok, "audiences": []any{"https://kubernetes.default.svc"}}, "status": obj{"user": obj{}}}
	c.resp = obj{"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1", "metadata": obj{"creationTimestamp": nil}, "spec": obj{"token": tok, "audiences": []any{"https://kubernetes.default.svc"}},
		"status": obj{"authenticated": true, "user": obj{"username": "system:serviceaccount:" + pick(s, serviceAccounts), "uid": s.uid(), "groups": []any{"system:serviceaccounts", "system:authenticated"}}, "audiences": []any{"https://kubernetes.default.svc"}}}
}

// tokenRequest models a kubelet requesting a service account token for a pod.
func tokenRequest(c *call, s *src) {
	n, ns, app := pick(s, nodes), pick(s, namespaces), pick(s, appNames)
	c.verb, c.user, c.agent = "create", nodeUser(n), kubeletAgent
	c.ref, c.uri = ref("", "v1", ns, "serviceaccounts", app, "token"), coreURI(ns, "serviceaccounts", app, "token")
	spec := obj{"audiences": []any{"https://kubernetes.default.svc"}, "expirationSeconds": 3607, "boundObjectRef": obj{"kind": "Pod", "apiVersion": "v1", "name": app + "-" + s.alnum(5), "uid": s.uid()}}
	c.req = obj{"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": obj{"creationTimestamp": nil}, "spec": spec, "status": obj{"token": "", "expirationTimestamp": nil}}
	c.resp = obj{"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": obj{"name": app, "namespace": ns, "creationTimestamp": s.ts(0)}, "spec": spec,
		"status": obj{"token": s.jwt(), "expirationTimestamp": s.ts(time.Hour)}}
}

// healthCheck models a probe or scrape of a non-resource URL.
func healthCheck(c *call, s *src) {
	c.verb = "get"
	c.uri = pick(s, []string{"/healthz", "/livez", "/readyz", "/readyz?verbose", "/livez/etcd", "/metrics", "/version"})
	if strings.HasPrefix(c.uri, "/metrics") {
		c.user, c.agent = sa("monitoring:prometheus"), "Prometheus/2.54.1"
	} else {
		c.user, c.agent = user{"system:anonymous", []string{"system:unauthenticated"}}, "kube-probe/1.31"
	}
}

// execCall models a person exec-ing into or attaching to a pod.
func execCall(c *call, s *src) {
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
}

// deniedCall models a request RBAC forbids.
func deniedCall(c *call, s *src) {
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
}

// unauthorizedCall models a request without valid credentials.
func unauthorizedCall(c *call, s *src) {
	c.verb, c.agent, c.code, c.reason = "get", "curl/8.5.0", 401, "Unauthorized"
	c.uri = pick(s, []string{"/api/v1/namespaces/kube-system/secrets", "/apis", "/api/v1/nodes"})
	c.resp = status(401, "Unauthorized", "Unauthorized")
}

// controllerSync models a controller updating an EndpointSlice or creating a pod.
func controllerSync(c *call, s *src) {
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
