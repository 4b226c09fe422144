package kube

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

const strategicPatch = "application/strategic-merge-patch+json"

// Informers' watches, by component (data tables). kcmWatches are kube-controller-manager's
// shared informers; the garbage collector watches the same and RBAC and Events.
var (
	kcmWatches = []string{"/api/v1/pods", "/api/v1/nodes", "/api/v1/namespaces", "/api/v1/services", "/api/v1/endpoints",
		"/apis/discovery.k8s.io/v1/endpointslices", "/api/v1/configmaps", "/api/v1/secrets", "/api/v1/serviceaccounts",
		"/apis/apps/v1/replicasets", "/apis/apps/v1/deployments", "/apis/apps/v1/daemonsets", "/apis/apps/v1/statefulsets",
		"/apis/apps/v1/controllerrevisions", "/apis/batch/v1/jobs", "/apis/batch/v1/cronjobs", "/api/v1/persistentvolumeclaims",
		"/api/v1/persistentvolumes", "/apis/storage.k8s.io/v1/storageclasses", "/apis/storage.k8s.io/v1/csinodes",
		"/apis/storage.k8s.io/v1/csidrivers", "/apis/storage.k8s.io/v1/volumeattachments", "/apis/coordination.k8s.io/v1/leases",
		"/apis/autoscaling/v2/horizontalpodautoscalers", "/apis/policy/v1/poddisruptionbudgets", "/api/v1/resourcequotas",
		"/api/v1/limitranges", "/api/v1/replicationcontrollers", "/api/v1/podtemplates",
		"/apis/certificates.k8s.io/v1/certificatesigningrequests", "/apis/rbac.authorization.k8s.io/v1/clusterroles",
		"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
		"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", "/apis/networking.k8s.io/v1/ingresses",
		"/apis/scheduling.k8s.io/v1/priorityclasses", "/apis/node.k8s.io/v1/runtimeclasses"}
	gcExtra = []string{"/apis/rbac.authorization.k8s.io/v1/roles", "/apis/rbac.authorization.k8s.io/v1/rolebindings",
		"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", "/api/v1/events"}
	schedulerWatches = []string{"/api/v1/pods", "/api/v1/nodes", "/api/v1/namespaces", "/api/v1/persistentvolumes",
		"/api/v1/persistentvolumeclaims", "/apis/storage.k8s.io/v1/storageclasses", "/apis/storage.k8s.io/v1/csinodes",
		"/apis/storage.k8s.io/v1/csidrivers", "/apis/storage.k8s.io/v1/csistoragecapacities"}
	ksmWatches = []string{"/api/v1/configmaps", "/apis/batch/v1/cronjobs", "/apis/apps/v1/daemonsets", "/apis/apps/v1/deployments",
		"/apis/discovery.k8s.io/v1/endpointslices", "/apis/autoscaling/v2/horizontalpodautoscalers", "/apis/networking.k8s.io/v1/ingresses",
		"/apis/batch/v1/jobs", "/apis/coordination.k8s.io/v1/leases", "/api/v1/limitranges",
		"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", "/api/v1/namespaces", "/apis/networking.k8s.io/v1/networkpolicies",
		"/api/v1/nodes", "/api/v1/persistentvolumeclaims", "/api/v1/persistentvolumes", "/apis/policy/v1/poddisruptionbudgets", "/api/v1/pods",
		"/apis/apps/v1/replicasets", "/api/v1/replicationcontrollers", "/api/v1/resourcequotas", "/api/v1/secrets", "/api/v1/services",
		"/apis/apps/v1/statefulsets", "/apis/storage.k8s.io/v1/storageclasses",
		"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", "/apis/storage.k8s.io/v1/volumeattachments",
		"/apis/certificates.k8s.io/v1/certificatesigningrequests"}
)

// planWatches lists every informer's watch and gives each a first renewal in the first
// 10 minutes, as a steady state would.
func (p *ControlPlane) planWatches() {
	add := func(user, agent string, paths []string, params url.Values) {
		for _, path := range paths {
			p.watches = append(p.watches, &watcher{user: user, agent: agent, path: path, accept: "application/json", params: params, next: p.rng.Intn(60)})
		}
	}
	sel := func(k, v string) url.Values { return url.Values{k: {v}} }
	proxySel := "!service.kubernetes.io/headless,!service.kubernetes.io/service-proxy-name"
	for _, n := range p.nodes {
		u := nodeUser(n)
		add(u, kubeletAgent, []string{"/api/v1/pods"}, sel("fieldSelector", "spec.nodeName="+n))
		add(u, kubeletAgent, []string{"/api/v1/nodes"}, sel("fieldSelector", "metadata.name="+n))
		add(u, kubeletAgent, []string{"/api/v1/services", "/apis/storage.k8s.io/v1/csidrivers", "/apis/node.k8s.io/v1/runtimeclasses"}, nil)
		seen := map[string]bool{}
		for _, sp := range p.pods {
			if sp.node != n {
				continue
			}
			for _, o := range [][2]string{{"configmaps", "kube-root-ca.crt"}, {"configmaps", sp.configMap}, {"secrets", sp.secret}} {
				path := fmt.Sprintf("/api/v1/namespaces/%s/%s", sp.ns, o[0])
				if !seen[path+o[1]] {
					seen[path+o[1]] = true
					add(u, kubeletAgent, []string{path}, sel("fieldSelector", "metadata.name="+o[1]))
				}
			}
		}
		proxy := saUser("kube-system", "kube-proxy")
		const proxyAgent = "kube-proxy/v1.37.2 (linux/amd64) kubernetes/1e2f3a4"
		add(proxy, proxyAgent, []string{"/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices"}, sel("labelSelector", proxySel))
		add(proxy, proxyAgent, []string{"/api/v1/nodes"}, sel("fieldSelector", "metadata.name="+n))
	}
	add(kcmUser, "kube-controller-manager/v1.37.2 (linux/amd64) kubernetes/1e2f3a4/shared-informers", kcmWatches, nil)
	add(saUser("kube-system", "generic-garbage-collector"), "kube-controller-manager/v1.37.2 (linux/amd64) kubernetes/1e2f3a4/metadata-informers",
		append(append([]string{}, kcmWatches...), gcExtra...), nil)
	add(schedulerUser, "kube-scheduler/v1.37.2 (linux/amd64) kubernetes/1e2f3a4/scheduler", schedulerWatches, nil)
	for range 2 {
		add(saUser("kube-system", "coredns"), "coredns/v1.12.3 (linux/amd64) kubernetes/coredns",
			[]string{"/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices", "/api/v1/namespaces"}, nil)
	}
	add(saUser("cert-manager", "cert-manager"), "cert-manager-controller/v1.18.2 (linux/amd64) cert-manager/shared-informers",
		[]string{"/api/v1/secrets", "/apis/networking.k8s.io/v1/ingresses", "/api/v1/pods", "/api/v1/services"}, nil)
	add(saUser("ingress-nginx", "ingress-nginx"), "nginx-ingress-controller/v1.13.1 (linux/amd64) ingress-nginx",
		[]string{"/apis/networking.k8s.io/v1/ingresses", "/apis/networking.k8s.io/v1/ingressclasses", "/api/v1/services",
			"/apis/discovery.k8s.io/v1/endpointslices", "/api/v1/secrets", "/api/v1/configmaps"}, nil)
	add(saUser("monitoring", "prometheus"), "Prometheus/3.5.0",
		[]string{"/api/v1/pods", "/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices", "/api/v1/nodes", "/apis/networking.k8s.io/v1/ingresses"}, nil)
	add(saUser("monitoring", "kube-state-metrics"), "kube-state-metrics/v2.16.0 (linux/amd64) kubernetes", ksmWatches, nil)
	add(saUser("kube-system", "metrics-server"), "metrics-server/v0.8.0 (linux/amd64) kubernetes", []string{"/api/v1/nodes", "/api/v1/pods"}, nil)
}

// nodeStatus is a kubelet's periodic status report.
func (p *ControlPlane) nodeStatus(node string) job {
	return func(ctx context.Context) error {
		_, err := p.call(ctx, nodeUser(node), request{method: "PATCH", path: "/api/v1/nodes/" + node + "/status", contentType: strategicPatch,
			agent: kubeletAgent, body: nodeStatusPatch(), want: []int{200}})
		return err
	}
}

// flakyProbeEvent is the kubelet's event recorder counting one more failed readiness
// probe on the same Event.
func (p *ControlPlane) flakyProbeEvent(t int) job {
	return func(ctx context.Context) error {
		ev := p.object("flaky-event")
		ns, _ := dig(ev, "metadata", "namespace").(string)
		name, _ := dig(ev, "metadata", "name").(string)
		node, _ := dig(ev, "source", "host").(string)
		_, err := p.call(ctx, nodeUser(node), request{method: "PATCH", path: fmt.Sprintf("/api/v1/namespaces/%s/events/%s", ns, name),
			contentType: strategicPatch, agent: kubeletAgent, want: []int{200},
			body: map[string]any{"count": t/6 + 2, "lastTimestamp": now()[:19] + "Z", "message": "Readiness probe failed: HTTP probe failed with statuscode: 503"}})
		return err
	}
}

// tokenRefresh is a kubelet renewing a pod's projected service account token.
func (p *ControlPlane) tokenRefresh(sp *simPod) job {
	return func(ctx context.Context) error {
		_, err := p.call(ctx, nodeUser(sp.node), request{method: "POST", path: fmt.Sprintf("/api/v1/namespaces/%s/serviceaccounts/%s/token", sp.ns, sp.sa),
			agent: kubeletAgent, body: tokenRequest(sp.name, sp.uid), want: []int{201}})
		return err
	}
}

// update PUTs the stored object at key to path (the object's or its /status) after
// mutate, as a controller's Update/UpdateStatus does, and stores the result.
func (p *ControlPlane) update(ctx context.Context, user, key, path string, mutate func(o map[string]any)) error {
	o := p.object(key)
	if o == nil {
		return fmt.Errorf("no stored object %s", key)
	}
	mutate(o)
	out, err := p.call(ctx, user, request{method: "PUT", path: path, body: o, agent: controllerAgent(user), want: []int{200}})
	if err == nil {
		p.keep(key, out)
	}
	return err
}

func controllerAgent(user string) string {
	return "kube-controller-manager/v1.37.2 (linux/amd64) kubernetes/1e2f3a4/" + user[len("system:serviceaccount:kube-system:"):]
}

// startPod is a pod's start: its controller creates it, the scheduler binds it and says
// so, the kubelet mints its token, reads it, reports it running and records events.
func (p *ControlPlane) startPod(ctx context.Context, creator string, a app, pod map[string]any, node string) (*simPod, error) {
	ns := "/api/v1/namespaces/" + a.ns
	out, err := p.call(ctx, creator, request{method: "POST", path: ns + "/pods", body: pod, agent: controllerAgent(creator), want: []int{201}})
	if err != nil {
		return nil, err
	}
	sp := &simPod{ns: a.ns, app: a.name, sa: a.sa, node: node, tokenOffset: p.next() * 97 % 288}
	sp.name, _ = dig(out, "metadata", "name").(string)
	sp.uid, _ = dig(out, "metadata", "uid").(string)
	kind, _ := dig(out, "metadata", "ownerReferences").([]any)
	owner, _ := kind[0].(map[string]any)
	ownerName, _ := owner["name"].(string)
	ownerKind, _ := owner["kind"].(string)
	seq := p.next()
	steps := []struct {
		user string
		r    request
	}{
		{creator, request{method: "POST", path: ns + "/events", body: coreEvent(a.ns, ownerKind, ownerName, "", "SuccessfulCreate", "Created pod: "+sp.name, creator[len("system:serviceaccount:kube-system:"):], ""), want: []int{201}}},
		{schedulerUser, request{method: "POST", path: ns + "/pods/" + sp.name + "/binding", want: []int{201}, body: map[string]any{"apiVersion": "v1", "kind": "Binding",
			"metadata": map[string]any{"name": sp.name, "namespace": a.ns, "uid": sp.uid}, "target": map[string]any{"kind": "Node", "name": node}}}},
		{schedulerUser, request{method: "POST", path: "/apis/events.k8s.io/v1/namespaces/" + a.ns + "/events", body: schedulerEvent(a.ns, sp.name, sp.uid, node, seq), want: []int{201}}},
	}
	for _, s := range steps {
		s.r.agent = "kube-scheduler/v1.37.2 (linux/amd64) kubernetes/1e2f3a4/scheduler"
		if _, err := p.call(ctx, s.user, s.r); err != nil {
			return nil, err
		}
	}
	time.Sleep(300 * time.Millisecond) // the kubelet sees the pod through its watch; the Node authorizer's graph too
	k := nodeUser(node)
	kr := []request{
		{method: "POST", path: fmt.Sprintf("%s/serviceaccounts/%s/token", ns, a.sa), body: tokenRequest(sp.name, sp.uid), want: []int{201}},
		{method: "GET", path: ns + "/pods/" + sp.name, want: []int{200}},
		{method: "PATCH", path: ns + "/pods/" + sp.name + "/status", contentType: strategicPatch, body: podStatusPatch(sp, a.image, "Running", seq, true), want: []int{200}},
	}
	for _, reason := range []string{"Pulled", "Created", "Started"} {
		kr = append(kr, request{method: "POST", path: ns + "/events", want: []int{201},
			body: coreEvent(a.ns, "Pod", sp.name, sp.uid, reason, reason+" container "+a.name, "kubelet", node)})
	}
	for _, r := range kr {
		r.agent = kubeletAgent
		if _, err := p.call(ctx, k, r); err != nil {
			return nil, err
		}
	}
	return sp, nil
}

// watcher is one informer's watch, re-opened at tick next.
type watcher struct {
	user, agent, path, accept string
	params                    url.Values
	next                      int
}

// watch opens w's watch as client-go's reflector does (resourceVersion of the last sync,
// a 5-10 min timeout, bookmarks) and closes it after a moment: the API server writes its
// ResponseStarted and ResponseComplete events as for a watch that ran its course.
func (p *ControlPlane) watch(w *watcher) job {
	return func(ctx context.Context) error {
		p.mu.Lock()
		rv := p.rv
		p.mu.Unlock()
		secs := 300 + (p.next()*37)%300
		q := url.Values{"allowWatchBookmarks": {"true"}, "resourceVersion": {rv}, "watch": {"true"},
			"timeoutSeconds": {fmt.Sprint(secs)}, "timeout": {(time.Duration(secs) * time.Second).String()}}
		for k, v := range w.params {
			q[k] = v
		}
		wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(wctx, http.MethodGet, p.d.url+w.path+"?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+p.c.Tokens[w.user])
		req.Header.Set("User-Agent", w.agent)
		req.Header.Set("Accept", w.accept)
		resp, err := p.d.hc.Do(req)
		if err != nil {
			if wctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("watch %s as %s: %w", w.path, w.user, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
			return fmt.Errorf("watch %s as %s: %s: %s", w.path, w.user, resp.Status, b)
		}
		_, _ = io.Copy(io.Discard, resp.Body) // until the timeout closes it
		return nil
	}
}
