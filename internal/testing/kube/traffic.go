package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
)

const (
	secretsPath = "/api/v1/namespaces/%s/secrets"
	tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
	mergePatch  = "application/merge-patch+json"
	jsonPatch   = "application/json-patch+json"
	applyYAML   = "application/apply-patch+yaml"
)

// Round sends one round of traffic in namespace ns (created here, left in place). The
// requests are made one after another in a fixed order, except a watch that runs
// alongside, so with AuditIDPrefix set every request has the same audit ID in every
// cluster. It stops at the first request whose status is not the expected one.
func (d *Driver) Round(ctx context.Context, ns string) error {
	s := func(path string, a ...any) string { return fmt.Sprintf(path, append([]any{ns}, a...)...) }
	secrets := s(secretsPath)

	steps := []request{
		{method: "POST", path: "/api/v1/namespaces", want: []int{201},
			body: obj("v1", "Namespace", map[string]any{"name": ns, "labels": map[string]any{"team": "payments"}}, nil)},
		{method: "POST", path: s("/api/v1/namespaces/%s/serviceaccounts"), want: []int{201},
			body: obj("v1", "ServiceAccount", map[string]any{"name": "default"}, nil)},
		{method: "POST", path: s("/api/v1/namespaces/%s/serviceaccounts"), want: []int{201},
			body: obj("v1", "ServiceAccount", map[string]any{"name": "app"}, nil)},
	}
	if err := d.run(ctx, steps); err != nil {
		return err
	}

	// A watch on the namespace's Secrets sees the writes below (and their data).
	var wg sync.WaitGroup
	var watchErr error
	watchID := d.nextID()
	wg.Add(1)
	go func() {
		defer wg.Done()
		watchErr = d.watch(ctx, watchID, secrets+"?watch=true&timeoutSeconds=2")
	}()
	err := d.run(ctx, d.secretSteps(ns))
	if err == nil {
		err = d.run(ctx, d.workloadSteps(ns))
	}
	if err == nil {
		err = d.tokenSteps(ctx, ns)
	}
	wg.Wait()
	return errors.Join(err, watchErr)
}

func (d *Driver) run(ctx context.Context, steps []request) error {
	for _, r := range steps {
		if _, _, err := d.do(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func obj(apiVersion, kind string, meta map[string]any, rest map[string]any) map[string]any {
	o := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta}
	for k, v := range rest {
		o[k] = v
	}
	return o
}

// secretSteps changes Secrets every way the API allows, with the annotations tools leave
// on them (each holding the secret again), then reads them back every way.
func (d *Driver) secretSteps(ns string) []request {
	secrets := fmt.Sprintf(secretsPath, ns)
	pw, tok := d.value(ns+"/db/password"), d.value(ns+"/db/token")
	lastApplied := mustJSON(obj("v1", "Secret", map[string]any{"name": "db", "namespace": ns},
		map[string]any{"data": map[string]any{"password": b64(pw)}, "type": "Opaque"}))
	db := obj("v1", "Secret", map[string]any{
		"name": "db",
		"annotations": map[string]any{
			"kubectl.kubernetes.io/last-applied-configuration": lastApplied,
			"kubernetes.io/change-cause":                       "kubectl create secret generic db --from-literal=password=" + pw,
		},
	}, map[string]any{"type": "Opaque", "data": map[string]any{"password": b64(pw)}, "stringData": map[string]any{"token": tok}})

	apiKey, ranch := d.value(ns+"/kapp/api-key"), d.value(ns+"/kapp/rancher")
	kappOriginal := mustJSON(obj("v1", "Secret", map[string]any{"name": "kapp", "namespace": ns},
		map[string]any{"stringData": map[string]any{"api-key": apiKey}}))
	rancher := gzipBase64(mustJSON(obj("v1", "Secret", map[string]any{"name": "kapp"},
		map[string]any{"data": map[string]any{"rancher": b64(ranch)}})))
	d.record(rancher) // the value holds a secret only after decoding; it must not ship either
	kapp := obj("v1", "Secret", map[string]any{
		"name": "kapp",
		"annotations": map[string]any{
			"kapp.k14s.io/original":           kappOriginal,
			"objectset.rio.cattle.io/applied": rancher,
		},
	}, map[string]any{"data": map[string]any{"api-key": b64(apiKey), "rancher": b64(ranch)}})

	tlsKey := d.value(ns + "/tls/key")
	tlsSecret := obj("v1", "Secret", map[string]any{"name": "tls"}, map[string]any{
		"type": "kubernetes.io/tls",
		"data": map[string]any{"tls.crt": b64("-----BEGIN CERTIFICATE-----\nnot a secret\n-----END CERTIFICATE-----\n"), "tls.key": b64(tlsKey)},
	})

	merged, patched, applied, misplaced, replaced := d.value(ns+"/db/merged"), d.value(ns+"/db/json-patch"),
		d.value(ns+"/applied/password"), d.value(ns+"/misindented/password"), d.value(ns+"/db/replaced")
	apply := fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: applied\n  namespace: %s\n  labels:\n    app: web\nstringData:\n  password: %q\ntype: Opaque\n", ns, applied)
	// stringData indented under metadata: a common YAML mistake; the server rejects the
	// unknown field, but the request body (with the value) is still audited.
	misindented := fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: misindented\n  namespace: %s\n  stringData:\n    password: %q\n", ns, misplaced)
	denied := d.value(ns + "/denied/password")

	return []request{
		{method: "POST", path: secrets, body: db, want: []int{201}},
		{method: "POST", path: secrets, body: kapp, want: []int{201}},
		{method: "POST", path: secrets, body: tlsSecret, want: []int{201}},
		{method: "PATCH", path: secrets + "/db", contentType: mergePatch, want: []int{200},
			body: map[string]any{"stringData": map[string]any{"password": merged}}},
		{method: "PATCH", path: secrets + "/db", contentType: jsonPatch, want: []int{200},
			body: []any{map[string]any{"op": "add", "path": "/data/extra", "value": b64(patched)}}},
		{method: "PATCH", path: secrets + "/applied?fieldManager=helm&force=true", contentType: applyYAML, body: apply, want: []int{200, 201}},
		{method: "PATCH", path: secrets + "/misindented?fieldManager=kubectl&force=true", contentType: applyYAML, body: misindented},
		{method: "PUT", path: secrets + "/tls", want: []int{200}, body: obj("v1", "Secret",
			map[string]any{"name": "tls", "namespace": ns, "labels": map[string]any{"rotated": "true"}},
			map[string]any{"type": "kubernetes.io/tls", "data": map[string]any{
				"tls.crt": b64("-----BEGIN CERTIFICATE-----\nnot a secret\n-----END CERTIFICATE-----\n"), "tls.key": b64(replaced)}})},
		{method: "GET", path: secrets + "/db", want: []int{200}},
		{method: "GET", path: secrets, want: []int{200}},
		{method: "GET", path: secrets + "?includeObject=Object", accept: tableAccept, want: []int{200}},
		{method: "GET", path: "/api/v1/secrets?limit=500", want: []int{200}},
		// Denied: a user without bindings reads, lists and writes Secrets.
		{token: d.nobody, method: "GET", path: secrets + "/db", want: []int{403}},
		{token: d.nobody, method: "GET", path: "/api/v1/secrets", want: []int{403}},
		{token: d.nobody, method: "POST", path: secrets, want: []int{403},
			body: obj("v1", "Secret", map[string]any{"name": "denied"}, map[string]any{"stringData": map[string]any{"password": denied}})},
		{method: "DELETE", path: secrets + "/kapp", want: []int{200}},
	}
}

// workloadSteps creates ConfigMaps, a Deployment and a Pod (their managedFields have
// k:{...} keys), grants a Role, and attempts exec into the pod (no node runs it, so the
// API server answers 400; the attempt is what the audit log must show).
func (d *Driver) workloadSteps(ns string) []request {
	p := func(path string) string { return fmt.Sprintf(path, ns) }
	containers := []any{
		map[string]any{"name": "app", "image": "registry.example/app:1.4.2",
			"ports": []any{map[string]any{"containerPort": 8080, "protocol": "TCP"}},
			"env": []any{
				map[string]any{"name": "LOG_LEVEL", "value": "info"},
				map[string]any{"name": "DB_PASSWORD", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "db", "key": "password"}}},
			}},
		map[string]any{"name": "sidecar", "image": "registry.example/proxy:2.0", "args": []any{"--port=9090"}},
	}
	podSpec := map[string]any{"containers": containers, "volumes": []any{
		map[string]any{"name": "creds", "secret": map[string]any{"secretName": "db"}},
	}}
	deploy := obj("apps/v1", "Deployment", map[string]any{"name": "web", "labels": map[string]any{"app": "web"}}, map[string]any{
		"spec": map[string]any{
			"replicas": 2,
			"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "web"}}, "spec": podSpec},
		},
	})
	scale := fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: %s\nspec:\n  replicas: 3\n", ns)
	exec := p("/api/v1/namespaces/%s/pods/web-0/exec?") + url.Values{
		"command": {"sh", "-c", "cat /var/run/secrets/kubernetes.io/serviceaccount/token && echo done"},
		"stdout":  {"true"}, "stderr": {"true"}, "container": {"app"},
	}.Encode()
	return []request{
		{method: "POST", path: p("/api/v1/namespaces/%s/configmaps"), want: []int{201},
			body: obj("v1", "ConfigMap", map[string]any{"name": "settings"}, map[string]any{"data": map[string]any{"mode": "blue", "replicas": "3", "app.properties": "a=1\nb=2\n"}})},
		{method: "PATCH", path: p("/api/v1/namespaces/%s/configmaps/settings"), contentType: mergePatch, want: []int{200},
			body: map[string]any{"data": map[string]any{"mode": "green"}}},
		{method: "POST", path: p("/apis/apps/v1/namespaces/%s/deployments"), body: deploy, want: []int{201}},
		{method: "PATCH", path: p("/apis/apps/v1/namespaces/%s/deployments/web?fieldManager=hpa&force=true"), contentType: applyYAML, body: scale, want: []int{200}},
		{method: "GET", path: p("/apis/apps/v1/namespaces/%s/deployments"), accept: tableAccept, want: []int{200}},
		{method: "POST", path: p("/api/v1/namespaces/%s/pods"), want: []int{201},
			body: obj("v1", "Pod", map[string]any{"name": "web-0", "labels": map[string]any{"app": "web"}}, map[string]any{"spec": podSpec})},
		{method: "POST", path: exec, want: []int{400}},
		{token: d.nobody, method: "POST", path: exec, want: []int{403}},
		{method: "POST", path: p("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles"), want: []int{201},
			body: obj("rbac.authorization.k8s.io/v1", "Role", map[string]any{"name": "read-settings"}, map[string]any{
				"rules": []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"configmaps"}, "verbs": []any{"get", "list"}}}})},
		{method: "POST", path: p("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings"), want: []int{201},
			body: obj("rbac.authorization.k8s.io/v1", "RoleBinding", map[string]any{"name": "nobody-reads-settings"}, map[string]any{
				"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-settings"},
				"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "nobody"}}})},
		{method: "GET", path: p("/api/v1/namespaces/%s/pods?labelSelector=app%%3Dweb&limit=10"), want: []int{200}},
		{method: "DELETE", path: p("/api/v1/namespaces/%s/pods/web-0?gracePeriodSeconds=0"), want: []int{200}},
		{method: "DELETE", path: p("/api/v1/namespaces/%s/configmaps/settings"), want: []int{200}},
	}
}

// tokenSteps requests a service account token (TokenRequest) and has the API server
// review it (TokenReview): both carry the token in a body.
func (d *Driver) tokenSteps(ctx context.Context, ns string) error {
	_, b, err := d.do(ctx, request{method: "POST", path: fmt.Sprintf("/api/v1/namespaces/%s/serviceaccounts/app/token", ns), want: []int{201},
		body: map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
			"spec": map[string]any{"audiences": []any{"https://kubernetes.default.svc.cluster.local"}, "expirationSeconds": 3600}}})
	if err != nil {
		return err
	}
	var tr struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	if err := json.Unmarshal(b, &tr); err != nil || !strings.HasPrefix(tr.Status.Token, "ey") {
		return fmt.Errorf("TokenRequest: no token in the response (%v)", err)
	}
	return d.run(ctx, []request{
		{method: "POST", path: "/apis/authentication.k8s.io/v1/tokenreviews", want: []int{201},
			body: map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": map[string]any{"token": tr.Status.Token}}},
		{token: d.nobody, method: "POST", path: "/apis/authentication.k8s.io/v1/tokenreviews", want: []int{403},
			body: map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": map[string]any{"token": tr.Status.Token}}},
	})
}
