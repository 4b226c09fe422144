// Leak kinds 1 and 2: secrets carried in annotations (webhook patches, tool manifests).

package leakcorpus

import (
	"encoding/json"
)

// webhookPatchShapes adds shapes of leak kind 1: event annotations.
func webhookPatchShapes(t *table) {
	patchAnn := func(verb string, patch func(c *Canaries) any) func(c *Canaries) any {
		return func(c *Canaries) any {
			return withAnnotations(Event(verb, "secrets", "s1", Secret(c, nil), nil),
				obj{"patch.webhook.admission.k8s.io/round_0_index_0": webhookPatch(patch(c)), "authorization.k8s.io/decision": "allow"})
		}
	}
	t.add(1, "webhook patch adds a data key", `"authorization.k8s.io/decision":"allow"`, patchAnn("create", func(c *Canaries) any {
		return arr{obj{"op": "add", "path": "/data/db-password", "value": c.V()}}
	}))
	t.add(1, "webhook patch replaces data", `inj.example.com`, patchAnn("create", func(c *Canaries) any {
		return arr{obj{"op": "replace", "path": "/data", "value": obj{"a": c.V(), "b": c.V()}}}
	}))
	t.add(1, "webhook patch adds stringData", "", patchAnn("update", func(c *Canaries) any {
		return arr{obj{"op": "add", "path": "/stringData", "value": obj{"x": c.V()}}}
	}))
	t.add(1, "webhook patch sets an annotation", "", patchAnn("update", func(c *Canaries) any {
		return arr{obj{"op": "add", "path": "/metadata/annotations/inj~1value", "value": c.V()}}
	}))
	t.add(1, "webhook patch replaces the document", "", patchAnn("create", func(c *Canaries) any {
		return arr{obj{"op": "replace", "path": "", "value": Secret(c, nil)}}
	}))
	t.add(1, "webhook patch with an extra member", "", patchAnn("create", func(c *Canaries) any {
		return arr{obj{"op": "add", "path": "/metadata/labels/x", "value": "y", "note": c.V()}}
	}))
	t.add(1, "webhook patch annotation of round 1", "", func(c *Canaries) any {
		return withAnnotations(Event("patch", "secrets", "s1", nil, Secret(c, nil)),
			obj{"patch.webhook.admission.k8s.io/round_1_index_3": webhookPatch(arr{obj{"op": "add", "path": "/data/k", "value": c.V()}})})
	})
	t.add(1, "webhook patch copies data to the end of finalizers", "", func(c *Canaries) any {
		s := Secret(c, nil)
		s["metadata"].(obj)["finalizers"] = arr{"example.com/keep", c.V()}
		return withAnnotations(Event("create", "secrets", "s1", nil, s),
			obj{"patch.webhook.admission.k8s.io/round_0_index_0": webhookPatch(arr{obj{"op": "copy", "from": "/data/password", "path": "/metadata/finalizers/-"}})})
	})
	t.add(1, "webhook patch annotation with a repeated member (the last copy empty)", "", func(c *Canaries) any {
		return withAnnotations(Event("create", "secrets", "s1", nil, nil), obj{
			"patch.webhook.admission.k8s.io/round_0_index_0": `{"configuration":"inj","webhook":"inj.example.com","patch":[{"op":"add","path":"/data/k","value":"` + c.V() + `","value":""}],"patch":[],"patchType":"JSONPatch"}`,
			"patch.webhook.admission.k8s.io/round_0_index_1": `{"patch":[{"op":"add","path":"/data/k","value":"` + c.V() + `","value":""}]}`,
		})
	})
	t.add(1, "webhook patch annotation on a pod embedding a Secret, the patch repeated empty", "", func(c *Canaries) any {
		return withAnnotations(Event("create", "pods", "p1", nil, nil), obj{
			"patch.webhook.admission.k8s.io/round_0_index_0": `{"patch":[{"op":"add","path":"/spec/x","value":{"kind":"Secret","data":{"k":"` + c.V() + `"}}}],"patch":[]}`,
		})
	})
	t.add(1, "webhook patch annotation that is not JSON", "", func(c *Canaries) any {
		return withAnnotations(Event("create", "secrets", "s1", nil, nil),
			obj{"patch.webhook.admission.k8s.io/round_0_index_0": "patch: " + c.V()})
	})
	t.add(1, "webhook patch annotation with a patch that is not a list", "", func(c *Canaries) any {
		return withAnnotations(Event("create", "secrets", "s1", nil, nil),
			obj{"patch.webhook.admission.k8s.io/round_0_index_0": `{"patch":{"data":{"k":"` + c.V() + `"}}}`})
	})
	t.add(1, "admission policy audit annotation", "", func(c *Canaries) any {
		return withAnnotations(Event("create", "secrets", "s1", nil, nil),
			obj{"check-secrets.example.com/value": c.V(), "validation.policy.admission.k8s.io/validation_failure": `[{"message":"bad ` + c.V() + `"}]`})
	})
	t.add(1, "webhook audit annotation on a token request", "", func(c *Canaries) any {
		return withAnnotations(Event("create", "serviceaccounts/token", "default", nil, nil),
			obj{"inj.example.com/token": c.V()})
	})
	t.add(1, "webhook patch of a token review", "", func(c *Canaries) any {
		return withAnnotations(tokenReviewEvent(nil, nil),
			obj{"patch.webhook.admission.k8s.io/round_0_index_0": webhookPatch(arr{obj{"op": "add", "path": "/spec/token", "value": c.V()}})})
	})
	t.add(1, "webhook patch embedding a Secret in a custom resource", `inj.example.com`, func(c *Canaries) any {
		return withAnnotations(crEvent("create", customResource(obj{"size": 1}), nil),
			obj{"patch.webhook.admission.k8s.io/round_0_index_0": webhookPatch(arr{obj{"op": "add", "path": "/spec/secret", "value": Secret(c, nil)}})})
	})
	t.add(1, "webhook patch annotation of a non-string type", "", func(c *Canaries) any {
		return withAnnotations(Event("create", "secrets", "s1", nil, nil),
			obj{"patch.webhook.admission.k8s.io/round_0_index_0": obj{"patch": arr{obj{"op": "add", "path": "/data/k", "value": c.V()}}}})
	})
}

// toolAnnotationShapes adds shapes of leak kind 2: annotations carrying manifests or
// command lines, on Secrets, their lists and metadata-only views.
func toolAnnotationShapes(t *table) {
	t.add(2, "kapp original", `"type":"Opaque"`, annotatedSecret(func(c *Canaries) obj { return obj{"kapp.k14s.io/original": manifest(c)} }))
	t.add(2, "kapp original-diff", "", annotatedSecret(func(c *Canaries) obj {
		d, _ := json.Marshal(arr{obj{"op": "replace", "path": "/data/password", "value": c.V()}})
		return obj{"kapp.k14s.io/original-diff": string(d), "kapp.k14s.io/original-diff-md5": "58e0494c51d30eb3494f7c9198986bb9"}
	}))
	t.add(2, "change-cause from-literal", "", annotatedSecret(func(c *Canaries) obj {
		return obj{"kubernetes.io/change-cause": "kubectl create secret generic s1 --from-literal=password=" + c.V() + " --record=true"}
	}))
	t.add(2, "rio applied plain", "", annotatedSecret(func(c *Canaries) obj { return obj{"objectset.rio.cattle.io/applied": manifest(c)} }))
	t.add(2, "rio applied gzip+base64", "", annotatedSecret(func(c *Canaries) obj {
		return obj{"objectset.rio.cattle.io/applied": Encode(manifest(c), GzipBase64), "objectset.rio.cattle.io/id": "x"}
	}))
	t.add(2, "last-applied under another key", "", annotatedSecret(func(c *Canaries) obj { return obj{"example.com/previous-config": manifest(c)} }))
	t.add(2, "last-applied", "", annotatedSecret(func(c *Canaries) obj { return obj{lastApplied: manifest(c)} }))
	t.add(2, "helm release annotation kept", `"meta.helm.sh/release-name":"db"`, annotatedSecret(func(c *Canaries) obj {
		return obj{"meta.helm.sh/release-name": "db", "helm.sh/values": c.V()}
	}))
	t.add(2, "tool annotations on a SecretList", `"SecretList"`, func(c *Canaries) any {
		return Event("list", "secrets", "", nil, obj{"kind": "SecretList", "apiVersion": "v1", "metadata": obj{"resourceVersion": "9"},
			"items": arr{without(Secret(c, obj{"kapp.k14s.io/original": manifest(c)}), "kind", "apiVersion"), Secret(c, obj{"kubernetes.io/change-cause": "--from-literal=a=" + c.V()})}})
	})
	t.add(2, "metadata-only get", `"PartialObjectMetadata"`, func(c *Canaries) any {
		return Event("get", "secrets", "s1", nil, obj{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
			"metadata": obj{"name": "s1", "annotations": obj{"kapp.k14s.io/original": manifest(c)}}})
	})
	t.add(2, "metadata-only list", "", func(c *Canaries) any {
		return Event("list", "secrets", "", nil, obj{"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
			"items": arr{obj{"kind": "PartialObjectMetadata", "metadata": obj{"name": "s1", "annotations": obj{lastApplied: manifest(c)}}}}})
	})
	t.add(2, "table rows with metadata-only objects", "", func(c *Canaries) any {
		return Event("list", "secrets", "", nil, obj{"kind": "Table", "apiVersion": "meta.k8s.io/v1",
			"columnDefinitions": arr{obj{"name": "Name", "type": "string", "format": "name"}},
			"rows": arr{obj{"cells": arr{"s1"}, "object": obj{"kind": "PartialObjectMetadata", "metadata": obj{"name": "s1",
				"annotations": obj{"objectset.rio.cattle.io/applied": Encode(manifest(c), GzipBase64)}}}}}})
	})
	t.add(2, "delete response with annotations", "", func(c *Canaries) any {
		return Event("delete", "secrets", "s1", obj{"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1"}, Secret(c, obj{"kapp.k14s.io/original": manifest(c)}))
	})
	t.kar(2, "kube-audit-rest secret update with tool annotations", `"type":"Opaque"`, func(c *Canaries) any {
		return Review("UPDATE", "", "secrets", "s1", Secret(c, obj{"kapp.k14s.io/original": manifest(c)}), Secret(c, obj{"kubernetes.io/change-cause": "--from-literal=p=" + c.V()}))
	})
	t.kar(2, "kube-audit-rest rio applied gzip", "", func(c *Canaries) any {
		return Review("CREATE", "", "secrets", "s1", Secret(c, obj{"objectset.rio.cattle.io/applied": Encode(manifest(c), GzipBase64)}), nil)
	})
}

// annotatedSecret is the create of a Secret whose annotations ann gives, in both bodies.
func annotatedSecret(ann func(c *Canaries) obj) func(c *Canaries) any {
	return func(c *Canaries) any {
		return Event("create", "secrets", "s1", Secret(c, ann(c)), Secret(c, ann(c)))
	}
}
