package redact

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/pipeline"
)

// canaries hands out unique values and remembers them, so the test can look for every one
// (raw and base64) in the output.
type canaries struct {
	shape string
	list  []string
}

func (c *canaries) raw() string {
	v := fmt.Sprintf("CANARY%s%dZq7", strings.ReplaceAll(c.shape, " ", ""), len(c.list))
	c.list = append(c.list, v)
	return v
}

func (c *canaries) b64() string { return base64.StdEncoding.EncodeToString([]byte(c.raw())) }

func (c *canaries) secret(name string) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"metadata":   map[string]any{"name": name, "namespace": "prod", "annotations": map[string]any{lastApplied: c.manifest(name)}},
		"data":       map[string]any{"password": c.b64(), "tls.key": c.b64()},
		"stringData": map[string]any{"token": c.raw()},
	}
}

// manifest is what kubectl apply stores in the annotation: the whole object as JSON text.
func (c *canaries) manifest(name string) string {
	b, _ := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": name},
		"data": map[string]any{"k": c.b64()}, "stringData": map[string]any{"s": c.raw()},
	})
	return string(b)
}

func (c *canaries) deployment(name string) map[string]any {
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": "prod", "annotations": map[string]any{lastApplied: c.manifest(name), "team": "payments"}},
		"spec":     map[string]any{"replicas": 3.0},
	}
}

type shape struct {
	name       string
	event      func(c *canaries) map[string]any // audit shape, or an AdmissionReview
	admission  bool
	keepInBody string // a value that must still be in the output (the rest survives)
}

func auditShape(verb, resource, subresource, name string, req, resp any) map[string]any {
	ev := map[string]any{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse", "stage": "ResponseComplete",
		"auditID": "id-" + name, "verb": verb, "requestURI": "/api/v1/namespaces/prod/" + resource + "/" + name,
		"user":           map[string]any{"username": "alice@example.com", "groups": []any{"system:authenticated"}},
		"objectRef":      map[string]any{"resource": resource, "subresource": subresource, "namespace": "prod", "name": name, "apiVersion": "v1"},
		"responseStatus": map[string]any{"code": 200.0},
	}
	if req != nil {
		ev["requestObject"] = req
	}
	if resp != nil {
		ev["responseObject"] = resp
	}
	return ev
}

func admissionShape(op, resource, subresource, name string, object, old any) map[string]any {
	return map[string]any{
		"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1",
		"request": map[string]any{
			"uid": "uid-" + name, "operation": op, "name": name, "namespace": "prod",
			"resource":    map[string]any{"group": "", "version": "v1", "resource": resource},
			"subResource": subresource,
			"userInfo":    map[string]any{"username": "system:serviceaccount:ci:deployer", "groups": []any{"system:serviceaccounts"}},
			"object":      object, "oldObject": old,
		},
	}
}

// fromAdmissionReview decodes an AdmissionReview line with the kube-audit-rest decoder the
// file input uses, so the test sees exactly the shape the filters get.
func fromAdmissionReview(t testing.TB, ar map[string]any) *pipeline.Event {
	t.Helper()
	line, err := json.Marshal(ar)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := decode.New("kube-audit-rest")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := dec.Decode(line)
	if err != nil || len(evs) != 1 {
		t.Fatalf("decode: %v (%d events)", err, len(evs))
	}
	return evs[0]
}

var shapes = []shape{
	{name: "secret create", keepInBody: `"type":"Opaque"`, event: func(c *canaries) map[string]any {
		return auditShape("create", "secrets", "", "s1", c.secret("s1"), c.secret("s1"))
	}},
	{name: "secret update", keepInBody: `"type":"Opaque"`, event: func(c *canaries) map[string]any {
		return auditShape("update", "secrets", "", "s1", c.secret("s1"), c.secret("s1"))
	}},
	{name: "secret get", keepInBody: `"type":"Opaque"`, event: func(c *canaries) map[string]any {
		return auditShape("get", "secrets", "", "s1", nil, c.secret("s1"))
	}},
	{name: "secret list", keepInBody: `"SecretList"`, event: func(c *canaries) map[string]any {
		return auditShape("list", "secrets", "", "", nil, map[string]any{
			"kind": "SecretList", "apiVersion": "v1", "metadata": map[string]any{"resourceVersion": "9"},
			"items": []any{c.secret("s1"), c.secret("s2")},
		})
	}},
	{name: "secret get as table", keepInBody: `"rows"`, event: func(c *canaries) map[string]any {
		return auditShape("list", "secrets", "", "", nil, map[string]any{
			"kind": "Table", "apiVersion": "meta.k8s.io/v1", "columnDefinitions": []any{map[string]any{"name": "Name"}},
			"rows": []any{map[string]any{"cells": []any{"s1", "Opaque", 2.0, "1d"}, "object": c.secret("s1")}},
		})
	}},
	{name: "secret merge patch", keepInBody: `"labels"`, event: func(c *canaries) map[string]any {
		return auditShape("patch", "secrets", "", "s1", map[string]any{
			"metadata": map[string]any{"labels": map[string]any{"rotated": "yes"}},
			"data":     map[string]any{"password": c.b64(), "old": nil}, "stringData": map[string]any{"x": c.raw()},
		}, c.secret("s1"))
	}},
	{name: "secret strategic patch with directives", keepInBody: `"$retainKeys"`, event: func(c *canaries) map[string]any {
		return auditShape("patch", "secrets", "", "s1", map[string]any{
			"$retainKeys": []any{"data"}, "data": map[string]any{"password": c.b64()},
		}, c.secret("s1"))
	}},
	{name: "secret apply", keepInBody: `"type":"Opaque"`, event: func(c *canaries) map[string]any {
		return auditShape("patch", "secrets", "", "s1", c.secret("s1"), c.secret("s1"))
	}},
	{name: "secret json patch", keepInBody: `"/metadata/labels/x"`, event: func(c *canaries) map[string]any {
		return auditShape("patch", "secrets", "", "s1", []any{
			map[string]any{"op": "add", "path": "/data/password", "value": c.b64()},
			map[string]any{"op": "replace", "path": "/data", "value": map[string]any{"a": c.b64(), "b": c.b64()}},
			map[string]any{"op": "add", "path": "/stringData", "value": map[string]any{"s": c.raw()}},
			map[string]any{"op": "add", "path": "/stringData/t", "value": c.raw()},
			map[string]any{"op": "add", "path": "/metadata/labels/x", "value": "y"},
			map[string]any{"op": "replace", "path": "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration", "value": c.manifest("s1")},
			map[string]any{"op": "test", "path": "/data/password", "value": c.b64()},
		}, c.secret("s1"))
	}},
	{name: "secret json patch of the whole document", keepInBody: `"op":"replace"`, event: func(c *canaries) map[string]any {
		return auditShape("patch", "secrets", "", "s1", []any{
			map[string]any{"op": "replace", "path": "", "value": c.secret("s1")},
		}, c.secret("s1"))
	}},
	{name: "secret unknown field fails closed", event: func(c *canaries) map[string]any {
		s := c.secret("s1")
		s["extra"] = map[string]any{"copy": c.raw()}
		return auditShape("create", "secrets", "", "s1", s, nil)
	}},
	{name: "secret unknown kind fails closed", event: func(c *canaries) map[string]any {
		return auditShape("create", "secrets", "", "s1", map[string]any{"kind": "SealedThing", "payload": c.raw()}, nil)
	}},
	{name: "secret non-object body fails closed", event: func(c *canaries) map[string]any {
		return auditShape("patch", "secrets", "", "s1", c.raw(), nil)
	}},
	{name: "secret data of the wrong type", event: func(c *canaries) map[string]any {
		s := c.secret("s1")
		s["data"].(map[string]any)["nested"] = map[string]any{"v": c.raw()}
		return auditShape("create", "secrets", "", "s1", s, nil)
	}},
	{name: "secret json patch unknown path fails closed", event: func(c *canaries) map[string]any {
		return auditShape("patch", "secrets", "", "s1", []any{
			map[string]any{"op": "add", "path": "/extra", "value": c.raw()},
		}, nil)
	}},
	{name: "last-applied on a deployment", keepInBody: `"team":"payments"`, event: func(c *canaries) map[string]any {
		return auditShape("create", "deployments", "", "d1", c.deployment("d1"), c.deployment("d1"))
	}},
	{name: "last-applied in a list", keepInBody: `"team":"payments"`, event: func(c *canaries) map[string]any {
		return auditShape("list", "deployments", "", "", nil, map[string]any{
			"kind": "DeploymentList", "items": []any{c.deployment("d1"), c.deployment("d2")},
		})
	}},
	{name: "last-applied in a merge patch", keepInBody: `"replicas"`, event: func(c *canaries) map[string]any {
		return auditShape("patch", "deployments", "", "d1", map[string]any{
			"metadata": map[string]any{"annotations": map[string]any{lastApplied: c.manifest("d1")}},
			"spec":     map[string]any{"replicas": 2.0},
		}, c.deployment("d1"))
	}},
	{name: "last-applied in a json patch", keepInBody: `"/spec/replicas"`, event: func(c *canaries) map[string]any {
		return auditShape("patch", "configmaps", "", "cm1", []any{
			map[string]any{"op": "replace", "path": "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration", "value": c.manifest("cm1")},
			map[string]any{"op": "add", "path": "/metadata/annotations", "value": map[string]any{lastApplied: c.manifest("cm1")}},
			map[string]any{"op": "replace", "path": "/spec/replicas", "value": 1.0},
		}, nil)
	}},
	{name: "embedded secret in a generic list", keepInBody: `"ConfigMap"`, event: func(c *canaries) map[string]any {
		return auditShape("create", "customthings", "", "x", map[string]any{
			"kind": "List", "items": []any{c.secret("s1"), map[string]any{"kind": "ConfigMap", "data": map[string]any{"a": "b"}}},
		}, nil)
	}},
	{name: "tokenreview", keepInBody: `"authenticated":true`, event: func(c *canaries) map[string]any {
		tr := func() map[string]any {
			return map[string]any{"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
				"spec": map[string]any{"token": c.raw(), "audiences": []any{"api"}}}
		}
		resp := tr()
		resp["status"] = map[string]any{"authenticated": true, "user": map[string]any{"username": "system:serviceaccount:a:b"}}
		ev := auditShape("create", "tokenreviews", "", "", tr(), resp)
		ev["objectRef"].(map[string]any)["apiGroup"] = "authentication.k8s.io"
		return ev
	}},
	{name: "tokenrequest", keepInBody: `"expirationTimestamp"`, event: func(c *canaries) map[string]any {
		return auditShape("create", "serviceaccounts", "token", "default",
			map[string]any{"kind": "TokenRequest", "spec": map[string]any{"audiences": []any{"api"}, "expirationSeconds": 3600.0}},
			map[string]any{"kind": "TokenRequest", "spec": map[string]any{"audiences": []any{"api"}},
				"status": map[string]any{"token": c.raw(), "expirationTimestamp": "2026-01-01T00:00:00Z"}})
	}},
	{name: "kar secret create", admission: true, keepInBody: `"type":"Opaque"`, event: func(c *canaries) map[string]any {
		return admissionShape("CREATE", "secrets", "", "s1", c.secret("s1"), nil)
	}},
	{name: "kar secret update", admission: true, keepInBody: `"type":"Opaque"`, event: func(c *canaries) map[string]any {
		return admissionShape("UPDATE", "secrets", "", "s1", c.secret("s1"), c.secret("s1"))
	}},
	{name: "kar secret delete", admission: true, keepInBody: `"type":"Opaque"`, event: func(c *canaries) map[string]any {
		return admissionShape("DELETE", "secrets", "", "s1", map[string]any{"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1"}, c.secret("s1"))
	}},
	{name: "kar secret unknown shape", admission: true, event: func(c *canaries) map[string]any {
		s := c.secret("s1")
		s["spec"] = c.raw()
		return admissionShape("UPDATE", "secrets", "", "s1", s, s)
	}},
	{name: "kar tokenreview", admission: true, keepInBody: `"audiences"`, event: func(c *canaries) map[string]any {
		return admissionShape("CREATE", "tokenreviews", "", "", map[string]any{"kind": "TokenReview",
			"spec": map[string]any{"token": c.raw(), "audiences": []any{"api"}}}, nil)
	}},
	{name: "kar tokenrequest", admission: true, keepInBody: `"audiences"`, event: func(c *canaries) map[string]any {
		return admissionShape("CREATE", "serviceaccounts", "token", "default", map[string]any{"kind": "TokenRequest",
			"spec": map[string]any{"audiences": []any{"api"}}, "status": map[string]any{"token": c.raw()}}, nil)
	}},
	{name: "kar deployment with last-applied", admission: true, keepInBody: `"team":"payments"`, event: func(c *canaries) map[string]any {
		return admissionShape("UPDATE", "deployments", "", "d1", c.deployment("d1"), c.deployment("d1"))
	}},
}

func TestCanaries(t *testing.T) {
	for _, action := range []string{"mask", "remove", "hash"} {
		t.Setenv("AUDITSHIP_TEST_HASH_KEY", "canary-test-key-0123456789")
		cfg := &Config{Preset: PresetKubernetesSecrets, Action: action}
		if action == "hash" {
			cfg.HashKeyEnv = "AUDITSHIP_TEST_HASH_KEY"
		}
		f := mustFilter(t, cfg)
		for _, s := range shapes {
			t.Run(action+"/"+s.name, func(t *testing.T) {
				c := &canaries{shape: s.name}
				var ev *pipeline.Event
				var in []byte
				if s.admission {
					ar := s.event(c)
					in, _ = json.Marshal(ar)
					ev = fromAdmissionReview(t, ar)
				} else {
					in, _ = json.Marshal(s.event(c))
					ev = auditEvent(t, string(in))
				}
				for _, v := range c.list {
					if !strings.Contains(string(in), v) && !strings.Contains(string(in), base64.StdEncoding.EncodeToString([]byte(v))) {
						t.Fatalf("fixture does not contain canary %s", v)
					}
				}
				keep, err := f.Apply(ev)
				if err != nil || !keep {
					t.Fatalf("keep=%v err=%v", keep, err)
				}
				out := encode(t, ev)
				for _, v := range c.list {
					for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v))} {
						if strings.Contains(out, form) {
							t.Errorf("canary %s leaked (as %q):\n%s", v, form, out)
						}
					}
				}
				if ev.Redacted == 0 {
					t.Error("nothing counted as redacted")
				}
				// The rest of the event survives.
				for _, want := range []string{`"auditID":`, `"verb":`, `"objectRef":`, `"user":`} {
					if !strings.Contains(out, want) {
						t.Errorf("lost %s: %s", want, out)
					}
				}
				if s.keepInBody != "" && !strings.Contains(out, s.keepInBody) {
					t.Errorf("lost %s from the body: %s", s.keepInBody, out)
				}
			})
		}
	}
}

// TestSecretsPresetLeavesOthersClean: an event with nothing secret stays byte-identical.
func TestSecretsPresetLeavesOthersClean(t *testing.T) {
	f := mustFilter(t, &Config{Preset: PresetKubernetesSecrets})
	lines := []string{
		`{"kind":"Event","verb":"update","objectRef":{"resource":"leases","namespace":"kube-node-lease","name":"n1"},"requestObject":{"kind":"Lease","spec":{"holderIdentity":"n1"}}}`,
		`{"kind":"Event","verb":"get","requestURI":"/healthz","user":{"username":"system:anonymous"}}`,
		`{"kind":"Event","verb":"get","objectRef":{"resource":"secrets","name":"s"},"level":"Metadata"}`,
		`{"kind":"Event","verb":"delete","objectRef":{"resource":"secrets","name":"s"},"requestObject":{"kind":"DeleteOptions","apiVersion":"meta.k8s.io/v1"},"responseObject":{"kind":"Status","status":"Success","code":200}}`,
		`{"kind":"Event","verb":"create","objectRef":{"resource":"pods"},"requestObject":{"kind":"Pod","spec":{"volumes":[{"secret":{"secretName":"x"}}]}}}`,
	}
	for _, line := range lines {
		ev := auditEvent(t, line)
		if keep, err := f.Apply(ev); err != nil || !keep {
			t.Fatalf("keep=%v err=%v", keep, err)
		}
		if ev.Dirty() || ev.Redacted != 0 || encode(t, ev) != line {
			t.Errorf("changed an event with nothing to redact: %s -> %s", line, encode(t, ev))
		}
	}
}

// TestPresetOnGeneratedMix runs the preset alone over the generator's mix, with canaries
// in every secret value, in both source formats: no canary survives, nothing fails, and
// events without secrets are left byte-identical.
func TestPresetOnGeneratedMix(t *testing.T) {
	f := mustFilter(t, &Config{Preset: PresetKubernetesSecrets})
	for _, tc := range []struct {
		format  gen.Format
		decoder string
	}{{gen.FormatAudit, "audit"}, {gen.FormatKubeAuditRest, "kube-audit-rest"}} {
		t.Run(tc.decoder, func(t *testing.T) {
			dec, err := decode.New(tc.decoder)
			if err != nil {
				t.Fatal(err)
			}
			g := gen.New(9).WithFormat(tc.format).WithCanaries(true)
			planted, redacted := 0, 0
			for i := range 1500 {
				line := g.Event(i)
				if gen.ContainsCanary(line) {
					planted++
				}
				evs, err := dec.Decode(line)
				if err != nil || len(evs) != 1 {
					t.Fatalf("decode %d: %v", i, err)
				}
				ev := evs[0]
				if keep, err := f.Apply(ev); err != nil || !keep {
					t.Fatalf("event %d: keep=%v err=%v", i, keep, err)
				}
				redacted += ev.Redacted
				out := encode(t, ev)
				if gen.ContainsCanary([]byte(out)) {
					t.Fatalf("event %d (%s) leaks: %s", i, g.Category(i), out)
				}
				if tc.format == gen.FormatAudit && ev.Redacted == 0 && out != string(line) {
					t.Fatalf("event %d (%s) changed with nothing redacted", i, g.Category(i))
				}
			}
			if planted == 0 || redacted < planted {
				t.Fatalf("planted canaries in %d events, redacted %d fields", planted, redacted)
			}
			t.Logf("%d events with canaries, %d fields redacted", planted, redacted)
		})
	}
}
