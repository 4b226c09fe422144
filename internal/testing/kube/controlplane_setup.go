package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// addonRole lets the add-ons (CoreDNS, metrics-server, cert-manager, ingress-nginx,
// Prometheus, kube-state-metrics) read everything, hold their leader-election Leases and
// scrape /metrics: what their Helm charts grant, folded into one ClusterRole.
var addonRole = obj("rbac.authorization.k8s.io/v1", "ClusterRole", meta("auditship-addon", "", nil), map[string]any{"rules": []any{
	map[string]any{"apiGroups": []any{"*"}, "resources": []any{"*"}, "verbs": []any{"get", "list", "watch"}},
	map[string]any{"apiGroups": []any{"coordination.k8s.io"}, "resources": []any{"leases"}, "verbs": []any{"create", "update"}},
	map[string]any{"nonResourceURLs": []any{"/metrics"}, "verbs": []any{"get"}},
}})

func binding(kind, name, ns, role, subjectKind, subject, subjectNS string) map[string]any {
	s := map[string]any{"kind": subjectKind, "name": subject}
	if subjectKind == "ServiceAccount" {
		s["namespace"] = subjectNS
	} else {
		s["apiGroup"] = "rbac.authorization.k8s.io"
	}
	return obj("rbac.authorization.k8s.io/v1", kind, meta(name, ns, nil), map[string]any{
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
		"subjects": []any{s},
	})
}

// hashOf is a stable name suffix of n lowercase hex digits, as controllers generate.
func hashOf(s string, n int) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:n]
}

// setup writes, as the admin, the cluster the steady state runs in: namespaces, service
// accounts, RBAC, nodes and their leases, the leader-election leases, the workloads. It
// is not part of the steady state (the recording starts after it).
func (p *ControlPlane) setup(ctx context.Context) error {
	var err error
	post := func(path string, body any) map[string]any {
		if err != nil {
			return nil
		}
		var out map[string]any
		out, err = p.call(ctx, "", request{method: "POST", path: path, body: body, agent: "Helm/3.22.0", want: []int{201, 409}})
		return out
	}
	namespaces := []string{"kube-system", "default", "kube-public", "monitoring", "cert-manager", "ingress-nginx", "payments", "web", "ci"}
	for _, ns := range namespaces[3:] {
		post("/api/v1/namespaces", obj("v1", "Namespace", meta(ns, "", nil), nil))
	}
	for _, ns := range namespaces {
		post(fmt.Sprintf("/api/v1/namespaces/%s/configmaps", ns), obj("v1", "ConfigMap", meta("kube-root-ca.crt", ns, nil),
			map[string]any{"data": map[string]any{"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIDBTCCAe2gAwIBAgIIRootCAforAuditship\n-----END CERTIFICATE-----\n"}}))
		post(fmt.Sprintf("/api/v1/namespaces/%s/serviceaccounts", ns), obj("v1", "ServiceAccount", meta("default", ns, nil), nil))
	}
	sas := append([][2]string{}, serviceAccounts...)
	for _, a := range apps {
		sas = append(sas, [2]string{a.ns, a.sa})
	}
	sas = append(sas, [2]string{"payments", "report"})
	for _, sa := range sas {
		post(fmt.Sprintf("/api/v1/namespaces/%s/serviceaccounts", sa[0]), obj("v1", "ServiceAccount", meta(sa[1], sa[0], nil), nil))
	}
	const rbac = "/apis/rbac.authorization.k8s.io/v1"
	if err == nil {
		err = p.aggregateRoles(ctx)
	}
	post(rbac+"/clusterroles", addonRole)
	for _, a := range apps[:6] {
		post(rbac+"/clusterrolebindings", binding("ClusterRoleBinding", "auditship-addon-"+a.sa, "", "auditship-addon", "ServiceAccount", a.sa, a.ns))
	}
	post(rbac+"/clusterrolebindings", binding("ClusterRoleBinding", "kubeadm:node-proxier", "", "system:node-proxier", "ServiceAccount", "kube-proxy", "kube-system"))
	post(rbac+"/clusterrolebindings", binding("ClusterRoleBinding", "alice-view", "", "view", "User", alice, ""))
	post(rbac+"/clusterrolebindings", binding("ClusterRoleBinding", "sre-admin", "", "cluster-admin", "User", bob, ""))
	post(rbac+"/namespaces/payments/rolebindings", binding("RoleBinding", "alice-edit", "payments", "edit", "User", alice, ""))
	for _, ns := range []string{"payments", "web"} {
		post(rbac+"/namespaces/"+ns+"/rolebindings", binding("RoleBinding", "ci-deployer", ns, "edit", "ServiceAccount", "deployer", "ci"))
	}
	if err != nil {
		return err
	}
	if err := p.setupNodes(ctx); err != nil {
		return err
	}
	return p.setupWorkloads(ctx)
}

// aggregateRoles fills the view and edit ClusterRoles from their system:aggregate-to-*
// parts, as kube-controller-manager's clusterrole-aggregation controller does (the
// harness runs no controller-manager, so they would grant nothing).
func (p *ControlPlane) aggregateRoles(ctx context.Context) error {
	const roles = "/apis/rbac.authorization.k8s.io/v1/clusterroles/"
	var rules []any
	for _, r := range []string{"view", "edit"} {
		part, err := p.call(ctx, "", request{method: "GET", path: roles + "system:aggregate-to-" + r, want: []int{200}})
		if err != nil {
			return err
		}
		more, _ := part["rules"].([]any)
		rules = append(rules, more...)
		if _, err := p.call(ctx, "", request{method: "PATCH", path: roles + r, contentType: mergePatch, want: []int{200},
			body: map[string]any{"rules": rules}}); err != nil {
			return err
		}
	}
	return nil
}

// setupNodes registers the nodes with their status and creates every Lease the steady
// state renews.
func (p *ControlPlane) setupNodes(ctx context.Context) error {
	lease := func(ns, name, holder string, secs int, owner []any) error {
		l := leaseObject(name, ns, holder, secs)
		if owner != nil {
			l["metadata"].(map[string]any)["ownerReferences"] = owner
		}
		path := fmt.Sprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", ns)
		out, err := p.call(ctx, "", request{method: "POST", path: path, body: l, want: []int{201}})
		if err == nil {
			p.keep(path+"/"+name, out)
		}
		return err
	}
	for i, n := range p.nodes {
		node := nodeObject(n, i)
		out, err := p.call(ctx, "", request{method: "POST", path: "/api/v1/nodes", body: node, want: []int{201}})
		if err != nil {
			return err
		}
		if _, err := p.call(ctx, "", request{method: "PATCH", path: "/api/v1/nodes/" + n + "/status", contentType: mergePatch,
			body: map[string]any{"status": node["status"]}, want: []int{200}}); err != nil {
			return err
		}
		uid, _ := dig(out, "metadata", "uid").(string)
		if err := lease("kube-node-lease", n, n, 40, []any{map[string]any{"apiVersion": "v1", "kind": "Node", "name": n, "uid": uid}}); err != nil {
			return err
		}
	}
	for _, l := range [][3]string{
		{"kube-system", "kube-controller-manager", "cp-1_4f1c2d0e-6a3b-4c1e-9d2f-0a1b2c3d4e5f"},
		{"kube-system", "kube-scheduler", "cp-1_9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"},
		{"kube-system", "cert-manager-controller", "cert-manager-6d4f8b9c7-x2k9p-external-cert-manager-controller"},
		{"ingress-nginx", "ingress-nginx-leader", "ingress-nginx-controller-7b9c5d8f6-q4w8r"},
	} {
		if err := lease(l[0], l[1], l[2], 15, nil); err != nil {
			return err
		}
	}
	return nil
}

// setupWorkloads creates each app's Secret, ConfigMap, Service, Deployment, ReplicaSet,
// running pods (placed round-robin) and EndpointSlice, the kube-proxy DaemonSet's pods,
// the CronJob and the Event a flaky probe keeps patching.
func (p *ControlPlane) setupWorkloads(ctx context.Context) error {
	workers := p.nodes[1:]
	placed := 0
	for _, a := range apps {
		nodes := workers
		if a.name == "coredns" {
			nodes = p.nodes
		}
		var pods []*simPod
		for i := range a.replicas {
			pods = append(pods, &simPod{node: nodes[(placed+i)%len(nodes)]})
		}
		placed += a.replicas
		if err := p.setupApp(ctx, a, pods); err != nil {
			return fmt.Errorf("app %s/%s: %w", a.ns, a.name, err)
		}
	}
	var proxies []*simPod
	for _, n := range p.nodes {
		proxies = append(proxies, &simPod{node: n})
	}
	proxy := app{"kube-system", "kube-proxy", "kube-proxy", len(p.nodes), "registry.k8s.io/kube-proxy:v1.37.2"}
	if err := p.setupApp(ctx, proxy, proxies); err != nil {
		return err
	}
	report := obj("batch/v1", "CronJob", meta("report", "payments", nil), map[string]any{"spec": map[string]any{
		"schedule": "*/5 * * * *", "successfulJobsHistoryLimit": 3,
		"jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"serviceAccountName": "report", "restartPolicy": "OnFailure",
			"containers": []any{map[string]any{"name": "report", "image": "registry.example/payments/report:1.0.4"}},
		}}}},
	}})
	path := "/apis/batch/v1/namespaces/payments/cronjobs"
	out, err := p.call(ctx, "", request{method: "POST", path: path, body: report, want: []int{201}})
	if err != nil {
		return err
	}
	p.keep(path+"/report", out)
	flaky := p.pods[len(p.pods)/2]
	ev := coreEvent(flaky.ns, "Pod", flaky.name, flaky.uid, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503", "kubelet", flaky.node)
	ev["type"] = "Warning"
	path = fmt.Sprintf("/api/v1/namespaces/%s/events", flaky.ns)
	out, err = p.call(ctx, "", request{method: "POST", path: path, body: ev, want: []int{201}})
	if err != nil {
		return err
	}
	p.keep("flaky-event", out)
	return nil
}

// setupApp creates one app with its pods on the nodes pods name.
func (p *ControlPlane) setupApp(ctx context.Context, a app, pods []*simPod) error {
	ns := "/api/v1/namespaces/" + a.ns
	var err error
	post := func(path string, body any) map[string]any {
		if err != nil {
			return nil
		}
		var out map[string]any
		out, err = p.call(ctx, "", request{method: "POST", path: path, body: body, agent: "Helm/3.22.0", want: []int{201}})
		return out
	}
	labels := map[string]any{"app.kubernetes.io/name": a.name}
	post(ns+"/secrets", obj("v1", "Secret", meta(a.name+"-credentials", a.ns, labels), map[string]any{
		"type": "Opaque", "data": map[string]any{"password": b64(p.d.value(a.ns + "/" + a.name + "/password"))}}))
	post(ns+"/configmaps", obj("v1", "ConfigMap", meta(a.name+"-config", a.ns, labels), map[string]any{
		"data": map[string]any{"config.yaml": "log_level: info\nlisten: :8080\nmetrics: :9090\n"}}))
	post(ns+"/services", obj("v1", "Service", meta(a.name, a.ns, labels), map[string]any{"spec": map[string]any{
		"selector": labels, "ports": []any{map[string]any{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}}}}))
	template := map[string]any{"metadata": map[string]any{"labels": labels}, "spec": dig(podObject(a, "x", "x-0123456789", "", ""), "spec")}
	dep := post("/apis/apps/v1/namespaces/"+a.ns+"/deployments", obj("apps/v1", "Deployment", meta(a.name, a.ns, labels), map[string]any{
		"spec": map[string]any{"replicas": a.replicas, "selector": map[string]any{"matchLabels": labels}, "template": template}}))
	if err != nil {
		return err
	}
	p.keep("/apis/apps/v1/namespaces/"+a.ns+"/deployments/"+a.name, dep)
	rsName := a.name + "-" + hashOf(a.image, 10)
	depUID, _ := dig(dep, "metadata", "uid").(string)
	rsMeta := meta(rsName, a.ns, labels)
	rsMeta["ownerReferences"] = ownerRef("apps/v1", "Deployment", a.name, depUID)
	rs := post("/apis/apps/v1/namespaces/"+a.ns+"/replicasets", obj("apps/v1", "ReplicaSet", rsMeta, map[string]any{
		"spec": map[string]any{"replicas": a.replicas, "selector": map[string]any{"matchLabels": labels}, "template": template}}))
	if err != nil {
		return err
	}
	p.keep("/apis/apps/v1/namespaces/"+a.ns+"/replicasets/"+rsName, rs)
	rsUID, _ := dig(rs, "metadata", "uid").(string)
	var endpoints []any
	for i, sp := range pods {
		sp.ns, sp.app, sp.sa = a.ns, a.name, a.sa
		sp.name = rsName + "-" + hashOf(fmt.Sprint(a.name, i), 5)
		sp.secret, sp.configMap = a.name+"-credentials", a.name+"-config"
		sp.tokenOffset = p.rng.Intn(288)
		out := post(ns+"/pods", podObject(a, sp.name, rsName, rsUID, sp.node))
		if err != nil {
			return err
		}
		sp.uid, _ = dig(out, "metadata", "uid").(string)
		if _, err := p.call(ctx, "", request{method: "PATCH", path: ns + "/pods/" + sp.name + "/status", contentType: "application/strategic-merge-patch+json",
			body: podStatusPatch(sp, a.image, "Running", len(p.pods), true), want: []int{200}}); err != nil {
			return err
		}
		p.pods = append(p.pods, sp)
		endpoints = append(endpoints, endpoint(sp, len(p.pods)))
	}
	es := post("/apis/discovery.k8s.io/v1/namespaces/"+a.ns+"/endpointslices", obj("discovery.k8s.io/v1", "EndpointSlice",
		meta(a.name+"-"+hashOf(a.name, 5), a.ns, map[string]any{"kubernetes.io/service-name": a.name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}),
		map[string]any{"addressType": "IPv4", "endpoints": endpoints, "ports": []any{map[string]any{"name": "http", "port": 8080, "protocol": "TCP"}}}))
	if err == nil {
		p.keep("endpointslice/"+a.ns+"/"+a.name, es)
	}
	return err
}

func endpoint(sp *simPod, ip int) map[string]any {
	return map[string]any{"addresses": []any{fmt.Sprintf("10.244.1.%d", ip%250+2)}, "nodeName": sp.node,
		"conditions": map[string]any{"ready": true, "serving": true, "terminating": false},
		"targetRef":  map[string]any{"kind": "Pod", "name": sp.name, "namespace": sp.ns, "uid": sp.uid}}
}
