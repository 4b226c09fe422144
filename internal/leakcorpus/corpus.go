package leakcorpus

import (
	"encoding/json"
	"strings"
)

// Shapes returns the corpus: every shape is a line that carries secrets (as canaries)
// where the kubernetes-secrets preset must not let them through.
func Shapes() []Shape {
	var s []Shape
	add := func(kind int, name, keep string, build func(c *Canaries) any) {
		s = append(s, Shape{Name: name, Kind: kind, Build: build, Keep: keep})
	}
	kar := func(kind int, name, keep string, build func(c *Canaries) any) {
		s = append(s, Shape{Name: name, Kind: kind, Admission: true, Build: build, Keep: keep})
	}

	// 1. Event annotations.
	patchAnn := func(verb string, patch func(c *Canaries) any) func(c *Canaries) any {
		return func(c *Canaries) any {
			return withAnnotations(Event(verb, "secrets", "s1", Secret(c, nil), nil),
				obj{"patch.webhook.admission.k8s.io/round_0_index_0": webhookPatch(patch(c)), "authorization.k8s.io/decision": "allow"})
		}
	}
	add(1, "webhook patch adds a data key", `"authorization.k8s.io/decision":"allow"`, patchAnn("create", func(c *Canaries) any {
		return arr{obj{"op": "add", "path": "/data/db-password", "value": c.V()}}
	}))
	add(1, "webhook patch replaces data", `inj.example.com`, patchAnn("create", func(c *Canaries) any {
		return arr{obj{"op": "replace", "path": "/data", "value": obj{"a": c.V(), "b": c.V()}}}
	}))
	add(1, "webhook patch adds stringData", "", patchAnn("update", func(c *Canaries) any {
		return arr{obj{"op": "add", "path": "/stringData", "value": obj{"x": c.V()}}}
	}))
	add(1, "webhook patch sets an annotation", "", patchAnn("update", func(c *Canaries) any {
		return arr{obj{"op": "add", "path": "/metadata/annotations/inj~1value", "value": c.V()}}
	}))
	add(1, "webhook patch replaces the document", "", patchAnn("create", func(c *Canaries) any {
		return arr{obj{"op": "replace", "path": "", "value": Secret(c, nil)}}
	}))
	add(1, "webhook patch with an extra member", "", patchAnn("create", func(c *Canaries) any {
		return arr{obj{"op": "add", "path": "/metadata/labels/x", "value": "y", "note": c.V()}}
	}))
	add(1, "webhook patch annotation of round 1", "", func(c *Canaries) any {
		return withAnnotations(Event("patch", "secrets", "s1", nil, Secret(c, nil)),
			obj{"patch.webhook.admission.k8s.io/round_1_index_3": webhookPatch(arr{obj{"op": "add", "path": "/data/k", "value": c.V()}})})
	})
	add(1, "webhook patch copies data to the end of finalizers", "", func(c *Canaries) any {
		s := Secret(c, nil)
		s["metadata"].(obj)["finalizers"] = arr{"example.com/keep", c.V()}
		return withAnnotations(Event("create", "secrets", "s1", nil, s),
			obj{"patch.webhook.admission.k8s.io/round_0_index_0": webhookPatch(arr{obj{"op": "copy", "from": "/data/password", "path": "/metadata/finalizers/-"}})})
	})
	add(1, "webhook patch annotation with a repeated member (the last copy empty)", "", func(c *Canaries) any {
		return withAnnotations(Event("create", "secrets", "s1", nil, nil), obj{
			"patch.webhook.admission.k8s.io/round_0_index_0": `{"configuration":"inj","webhook":"inj.example.com","patch":[{"op":"add","path":"/data/k","value":"` + c.V() + `","value":""}],"patch":[],"patchType":"JSONPatch"}`,
			"patch.webhook.admission.k8s.io/round_0_index_1": `{"patch":[{"op":"add","path":"/data/k","value":"` + c.V() + `","value":""}]}`,
		})
	})
	add(1, "webhook patch annotation on a pod embedding a Secret, the patch repeated empty", "", func(c *Canaries) any {
		return withAnnotations(Event("create", "pods", "p1", nil, nil), obj{
			"patch.webhook.admission.k8s.io/round_0_index_0": `{"patch":[{"op":"add","path":"/spec/x","value":{"kind":"Secret","data":{"k":"` + c.V() + `"}}}],"patch":[]}`,
		})
	})
	add(1, "webhook patch annotation that is not JSON", "", func(c *Canaries) any {
		return withAnnotations(Event("create", "secrets", "s1", nil, nil),
			obj{"patch.webhook.admission.k8s.io/round_0_index_0": "patch: " + c.V()})
	})
	add(1, "webhook patch annotation with a patch that is not a list", "", func(c *Canaries) any {
		return withAnnotations(Event("create", "secrets", "s1", nil, nil),
			obj{"patch.webhook.admission.k8s.io/round_0_index_0": `{"patch":{"data":{"k":"` + c.V() + `"}}}`})
	})
	add(1, "admission policy audit annotation", "", func(c *Canaries) any {
		return withAnnotations(Event("create", "secrets", "s1", nil, nil),
			obj{"check-secrets.example.com/value": c.V(), "validation.policy.admission.k8s.io/validation_failure": `[{"message":"bad ` + c.V() + `"}]`})
	})
	add(1, "webhook audit annotation on a token request", "", func(c *Canaries) any {
		return withAnnotations(Event("create", "serviceaccounts/token", "default", nil, nil),
			obj{"inj.example.com/token": c.V()})
	})
	add(1, "webhook patch of a token review", "", func(c *Canaries) any {
		return withAnnotations(tokenReviewEvent(nil, nil),
			obj{"patch.webhook.admission.k8s.io/round_0_index_0": webhookPatch(arr{obj{"op": "add", "path": "/spec/token", "value": c.V()}})})
	})
	add(1, "webhook patch embedding a Secret in a custom resource", `inj.example.com`, func(c *Canaries) any {
		return withAnnotations(crEvent("create", customResource(obj{"size": 1}), nil),
			obj{"patch.webhook.admission.k8s.io/round_0_index_0": webhookPatch(arr{obj{"op": "add", "path": "/spec/secret", "value": Secret(c, nil)}})})
	})
	add(1, "webhook patch annotation of a non-string type", "", func(c *Canaries) any {
		return withAnnotations(Event("create", "secrets", "s1", nil, nil),
			obj{"patch.webhook.admission.k8s.io/round_0_index_0": obj{"patch": arr{obj{"op": "add", "path": "/data/k", "value": c.V()}}}})
	})

	// 2. Annotations carrying manifests or command lines, on Secrets, their lists and
	// metadata-only views.
	tool := func(ann func(c *Canaries) obj) func(c *Canaries) any {
		return func(c *Canaries) any {
			return Event("create", "secrets", "s1", Secret(c, ann(c)), Secret(c, ann(c)))
		}
	}
	add(2, "kapp original", `"type":"Opaque"`, tool(func(c *Canaries) obj { return obj{"kapp.k14s.io/original": manifest(c)} }))
	add(2, "kapp original-diff", "", tool(func(c *Canaries) obj {
		d, _ := json.Marshal(arr{obj{"op": "replace", "path": "/data/password", "value": c.V()}})
		return obj{"kapp.k14s.io/original-diff": string(d), "kapp.k14s.io/original-diff-md5": "58e0494c51d30eb3494f7c9198986bb9"}
	}))
	add(2, "change-cause from-literal", "", tool(func(c *Canaries) obj {
		return obj{"kubernetes.io/change-cause": "kubectl create secret generic s1 --from-literal=password=" + c.V() + " --record=true"}
	}))
	add(2, "rio applied plain", "", tool(func(c *Canaries) obj { return obj{"objectset.rio.cattle.io/applied": manifest(c)} }))
	add(2, "rio applied gzip+base64", "", tool(func(c *Canaries) obj {
		return obj{"objectset.rio.cattle.io/applied": Encode(manifest(c), GzipBase64), "objectset.rio.cattle.io/id": "x"}
	}))
	add(2, "last-applied under another key", "", tool(func(c *Canaries) obj { return obj{"example.com/previous-config": manifest(c)} }))
	add(2, "last-applied", "", tool(func(c *Canaries) obj { return obj{lastApplied: manifest(c)} }))
	add(2, "helm release annotation kept", `"meta.helm.sh/release-name":"db"`, tool(func(c *Canaries) obj {
		return obj{"meta.helm.sh/release-name": "db", "helm.sh/values": c.V()}
	}))
	add(2, "tool annotations on a SecretList", `"SecretList"`, func(c *Canaries) any {
		return Event("list", "secrets", "", nil, obj{"kind": "SecretList", "apiVersion": "v1", "metadata": obj{"resourceVersion": "9"},
			"items": arr{without(Secret(c, obj{"kapp.k14s.io/original": manifest(c)}), "kind", "apiVersion"), Secret(c, obj{"kubernetes.io/change-cause": "--from-literal=a=" + c.V()})}})
	})
	add(2, "metadata-only get", `"PartialObjectMetadata"`, func(c *Canaries) any {
		return Event("get", "secrets", "s1", nil, obj{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
			"metadata": obj{"name": "s1", "annotations": obj{"kapp.k14s.io/original": manifest(c)}}})
	})
	add(2, "metadata-only list", "", func(c *Canaries) any {
		return Event("list", "secrets", "", nil, obj{"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
			"items": arr{obj{"kind": "PartialObjectMetadata", "metadata": obj{"name": "s1", "annotations": obj{lastApplied: manifest(c)}}}}})
	})
	add(2, "table rows with metadata-only objects", "", func(c *Canaries) any {
		return Event("list", "secrets", "", nil, obj{"kind": "Table", "apiVersion": "meta.k8s.io/v1",
			"columnDefinitions": arr{obj{"name": "Name", "type": "string", "format": "name"}},
			"rows": arr{obj{"cells": arr{"s1"}, "object": obj{"kind": "PartialObjectMetadata", "metadata": obj{"name": "s1",
				"annotations": obj{"objectset.rio.cattle.io/applied": Encode(manifest(c), GzipBase64)}}}}}})
	})
	add(2, "delete response with annotations", "", func(c *Canaries) any {
		return Event("delete", "secrets", "s1", obj{"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1"}, Secret(c, obj{"kapp.k14s.io/original": manifest(c)}))
	})
	kar(2, "kube-audit-rest secret update with tool annotations", `"type":"Opaque"`, func(c *Canaries) any {
		return Review("UPDATE", "", "secrets", "s1", Secret(c, obj{"kapp.k14s.io/original": manifest(c)}), Secret(c, obj{"kubernetes.io/change-cause": "--from-literal=p=" + c.V()}))
	})
	kar(2, "kube-audit-rest rio applied gzip", "", func(c *Canaries) any {
		return Review("CREATE", "", "secrets", "s1", Secret(c, obj{"objectset.rio.cattle.io/applied": Encode(manifest(c), GzipBase64)}), nil)
	})

	// 3. Fields of a Secret body outside data and stringData, JSON Patch operations.
	sec := func(verb string, body func(c *Canaries) any) func(c *Canaries) any {
		return func(c *Canaries) any { return Event(verb, "secrets", "s1", body(c), nil) }
	}
	add(3, "stringData indented under metadata", `"name":"s1"`, sec("patch", func(c *Canaries) any {
		return obj{"apiVersion": "v1", "kind": "Secret", "metadata": obj{"name": "s1", "stringData": obj{"DB_PASSWORD": c.V()}}}
	}))
	add(3, "data indented under metadata", "", sec("create", func(c *Canaries) any {
		return obj{"apiVersion": "v1", "kind": "Secret", "metadata": obj{"name": "s1", "data": obj{"k": c.V()}}}
	}))
	add(3, "type holds an object", "", sec("create", func(c *Canaries) any {
		return obj{"kind": "Secret", "type": obj{"password": c.V()}}
	}))
	add(3, "type holds a list", "", sec("create", func(c *Canaries) any { return obj{"kind": "Secret", "type": arr{c.V()}} }))
	add(3, "immutable holds a string", "", sec("create", func(c *Canaries) any { return obj{"kind": "Secret", "immutable": c.V()} }))
	add(3, "kind holds an object", "", sec("create", func(c *Canaries) any { return obj{"kind": obj{"k": c.V()}} }))
	add(3, "kind holds a value", "", sec("create", func(c *Canaries) any { return obj{"kind": c.V(), "metadata": obj{"name": "s1"}} }))
	add(3, "apiVersion holds a value", "", sec("create", func(c *Canaries) any { return obj{"kind": "Secret", "apiVersion": c.V()} }))
	add(3, "label holds an object", `"app":"db"`, sec("create", func(c *Canaries) any {
		return obj{"kind": "Secret", "metadata": obj{"labels": obj{"app": "db", "x": obj{"v": c.V()}}}}
	}))
	add(3, "name holds an object", "", sec("create", func(c *Canaries) any {
		return obj{"kind": "Secret", "metadata": obj{"name": obj{"v": c.V()}}}
	}))
	add(3, "ownerReference with an extra member", `"controller":true`, sec("create", func(c *Canaries) any {
		return obj{"kind": "Secret", "metadata": obj{"ownerReferences": arr{obj{"kind": "Deployment", "name": "d", "uid": "u", "controller": true, "data": c.V()}}}}
	}))
	add(3, "managedFields values in fieldsV1 keys", `"f:data"`, sec("update", func(c *Canaries) any {
		return obj{"kind": "Secret", "metadata": obj{"managedFields": arr{obj{"manager": "kubectl", "operation": "Update", "fieldsType": "FieldsV1",
			"fieldsV1": obj{"f:data": obj{"f:password": obj{}}, "f:metadata": obj{"f:finalizers": obj{`v:"` + c.V() + `"`: obj{}}},
				"f:x": c.V()}}}}}
	}))
	add(3, "managedFields entry with an extra member", `"manager":"kubectl"`, sec("update", func(c *Canaries) any {
		return obj{"kind": "Secret", "metadata": obj{"managedFields": arr{obj{"manager": "kubectl", "data": obj{"k": c.V()}}}}}
	}))
	add(3, "finalizers hold objects", "", sec("create", func(c *Canaries) any {
		return obj{"kind": "Secret", "metadata": obj{"finalizers": arr{"a", obj{"v": c.V()}}}}
	}))
	add(3, "extra top-level member", `"type":"Opaque"`, sec("create", func(c *Canaries) any {
		s := Secret(c, nil)
		s["spec"] = obj{"copy": c.V()}
		return s
	}))
	add(3, "data value holds an object", "", sec("create", func(c *Canaries) any {
		return obj{"kind": "Secret", "data": obj{"k": obj{"nested": c.V()}}}
	}))
	add(3, "data holds a string", "", sec("create", func(c *Canaries) any { return obj{"kind": "Secret", "data": c.V()} }))
	add(3, "body is a string", "", sec("patch", func(c *Canaries) any { return c.V() }))
	add(3, "strategic directives with values", `"$patch":"replace"`, sec("patch", func(c *Canaries) any {
		return obj{"$patch": "replace", "$setElementOrder/data": arr{obj{"k": c.V()}}, "$deleteFromPrimitiveList/finalizers": arr{c.V()},
			"$retainKeys": arr{"data", c.V()}, "data": obj{"k": c.V()}}
	}))
	add(3, "$patch holds a value", "", sec("patch", func(c *Canaries) any { return obj{"$patch": c.V()} }))
	add(3, "json patch on metadata", `"/metadata/labels/x"`, sec("patch", func(c *Canaries) any {
		return arr{
			obj{"op": "add", "path": "/metadata/annotations/note", "value": c.V()},
			obj{"op": "add", "path": "/metadata", "value": obj{"name": "s1", "stringData": obj{"k": c.V()}}},
			obj{"op": "add", "path": "/metadata/labels/x", "value": "y"},
		}
	}))
	add(3, "json patch on type and kind", "", sec("patch", func(c *Canaries) any {
		return arr{obj{"op": "replace", "path": "/type", "value": obj{"k": c.V()}}, obj{"op": "replace", "path": "/kind", "value": c.V()},
			obj{"op": "replace", "path": "/immutable", "value": c.V()}, obj{"op": "add", "path": "/apiVersion", "value": c.V()}}
	}))
	add(3, "json patch on an unknown path", "", sec("patch", func(c *Canaries) any {
		return arr{obj{"op": "add", "path": "/spec/x", "value": c.V()}, obj{"op": "add", "path": "data", "value": c.V()}}
	}))
	add(3, "json patch op with an extra member", "", sec("patch", func(c *Canaries) any {
		return arr{obj{"op": "add", "path": "/metadata/labels/x", "value": "y", "value2": c.V()}}
	}))
	add(3, "json patch element that is not an op", "", sec("patch", func(c *Canaries) any { return arr{c.V(), arr{c.V()}} }))
	add(3, "json patch test op", "", sec("patch", func(c *Canaries) any {
		return arr{obj{"op": "test", "path": "/data/password", "value": c.V()}, obj{"op": "test", "path": "/metadata/annotations", "value": obj{"a": c.V()}}}
	}))
	copyInto := func(op, from, to string) func(c *Canaries) any {
		return func(c *Canaries) any {
			s := Secret(c, nil)
			md := s["metadata"].(obj)
			v := c.V()
			switch to {
			case "/metadata/annotations/copy":
				md["annotations"] = obj{"copy": v}
			case "/metadata/labels/copy":
				md["labels"] = obj{"copy": v}
			case "/metadata/annotations/meta.helm.sh~1release-name":
				md["annotations"] = obj{"meta.helm.sh/release-name": v}
			case "/type":
				s["type"] = v
			case "/metadata/finalizers/-":
				// "-" is the end of the array (RFC 6902 4.1): the value is appended.
				md["finalizers"] = arr{"example.com/keep", v}
			case "/metadata/finalizers/0":
				md["finalizers"] = arr{v, "example.com/keep"}
			}
			return Event("patch", "secrets", "s1", arr{obj{"op": op, "from": from, "path": to}}, s)
		}
	}
	add(3, "json patch copies data into an annotation", "", copyInto("copy", "/data/password", "/metadata/annotations/copy"))
	add(3, "json patch moves data into a label", "", copyInto("move", "/data/password", "/metadata/labels/copy"))
	add(3, "json patch copies data into an allow-listed annotation", "", copyInto("copy", "/data/password", "/metadata/annotations/meta.helm.sh~1release-name"))
	add(3, "json patch moves stringData into type", "", copyInto("move", "/stringData/token", "/type"))
	add(3, "json patch copies data to the end of finalizers (\"-\")", "", copyInto("copy", "/data/password", "/metadata/finalizers/-"))
	add(3, "json patch moves data to the start of finalizers", "", copyInto("move", "/data/password", "/metadata/finalizers/0"))
	add(3, "table cells and column definitions", `"Opaque"`, func(c *Canaries) any {
		return Event("list", "secrets", "", nil, obj{"kind": "Table", "apiVersion": "meta.k8s.io/v1",
			"columnDefinitions": arr{obj{"name": "Name", "type": "string"}, obj{"name": "Type", "type": "string"}, obj{"name": "Data", "type": "integer"},
				obj{"name": c.V(), "type": "string", "description": c.V()}},
			"rows": arr{obj{"cells": arr{"s1", "Opaque", 2, c.V()}, "object": Secret(c, nil), "extra": c.V(), "conditions": arr{obj{"message": c.V()}}}}})
	})
	add(3, "table cell holding an object", "", func(c *Canaries) any {
		return Event("list", "secrets", "", nil, obj{"kind": "Table", "columnDefinitions": arr{obj{"name": "Name"}},
			"rows": arr{obj{"cells": arr{obj{"v": c.V()}}}}})
	})
	add(3, "delete options with an extra member", `"propagationPolicy":"Background"`, sec("delete", func(c *Canaries) any {
		return obj{"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1", "propagationPolicy": "Background", "data": obj{"k": c.V()}}
	}))
	add(3, "status response with an extra member", `"reason":"NotFound"`, func(c *Canaries) any {
		return Event("get", "secrets", "s1", nil, obj{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
			"message": `secrets "s1" not found`, "code": 404, "data": obj{"k": c.V()}, "details": obj{"name": "s1", "extra": c.V()}})
	})
	add(3, "status as a request body", "", sec("create", func(c *Canaries) any {
		return obj{"kind": "Status", "message": c.V()}
	}))
	add(3, "list with items of another kind", "", func(c *Canaries) any {
		return Event("list", "secrets", "", nil, obj{"kind": "SecretList", "items": arr{obj{"kind": "ConfigMap", "data": obj{"k": c.V()}}, c.V()}, "extra": c.V()})
	})
	kar(3, "kube-audit-rest secret with fields outside data", "", func(c *Canaries) any {
		s := Secret(c, nil)
		s["metadata"].(obj)["stringData"] = obj{"k": c.V()}
		s["type"] = obj{"k": c.V()}
		return Review("CREATE", "", "secrets", "s1", s, nil)
	})

	// 4. Token bodies.
	add(4, "token request answer of an unknown kind", "", func(c *Canaries) any {
		return Event("create", "serviceaccounts/token", "s1", nil, obj{"kind": "Foo", "payload": obj{"jwt": c.V()}})
	})
	add(4, "token request with an extra member", `"expirationTimestamp"`, func(c *Canaries) any {
		tr := tokenRequest(c)
		tr["status"].(obj)["jwt"] = c.V()
		tr["extra"] = c.V()
		return Event("create", "serviceaccounts/token", "s1", obj{"kind": "TokenRequest", "spec": obj{"audiences": arr{"api"}}}, tr)
	})
	add(4, "token request with the token as an object", "", func(c *Canaries) any {
		return Event("create", "serviceaccounts/token", "s1", nil, obj{"kind": "TokenRequest", "status": obj{"token": obj{"jwt": c.V()}}})
	})
	add(4, "kind-less token request answer", "", func(c *Canaries) any {
		return Event("create", "serviceaccounts/token", "s1", nil, obj{"status": obj{"token": c.V()}, "other": c.V()})
	})
	add(4, "token request answer that is not an object", "", func(c *Canaries) any {
		return Event("create", "serviceaccounts/token", "s1", nil, arr{c.V()})
	})
	add(4, "token review with an extra member", `"authenticated":true`, func(c *Canaries) any {
		tr := tokenReview(c)
		tr["spec"].(obj)["extra"] = c.V()
		return tokenReviewEvent(tokenReview(c), tr)
	})
	add(4, "token review answer of an unknown kind", "", func(c *Canaries) any {
		return tokenReviewEvent(nil, obj{"kind": "Review", "token": c.V()})
	})
	add(4, "kind-less token review", "", func(c *Canaries) any {
		return tokenReviewEvent(obj{"spec": obj{"token": c.V()}}, nil)
	})
	add(4, "token review in a custom resource", "", func(c *Canaries) any {
		return crEvent("create", customResource(obj{"review": tokenReview(c)}), nil)
	})
	add(4, "token request found by requestURI alone", "", func(c *Canaries) any {
		return without(Event("create", "serviceaccounts/token", "s1", nil, obj{"kind": "Foo", "jwt": c.V()}), "objectRef")
	})
	add(4, "token review found by requestURI alone", "", func(c *Canaries) any {
		return without(tokenReviewEvent(obj{"spec": obj{"token": c.V()}}, nil), "objectRef")
	})
	kar(4, "kube-audit-rest token request", "", func(c *Canaries) any {
		return Review("CREATE", "", "serviceaccounts/token", "default", tokenRequest(c), nil)
	})
	kar(4, "kube-audit-rest token review of an unknown kind", "", func(c *Canaries) any {
		return Review("CREATE", "authentication.k8s.io", "tokenreviews", "", obj{"kind": "Other", "token": c.V()}, nil)
	})

	// 5. Embedded Secrets.
	add(5, "embedded Secret", `"size":1`, func(c *Canaries) any {
		return crEvent("create", customResource(obj{"size": 1, "template": Secret(c, nil)}), nil)
	})
	add(5, "embedded Secret with Data spelled differently", "", func(c *Canaries) any {
		return crEvent("create", customResource(obj{"template": obj{"kind": "Secret", "Data": obj{"k": c.V()}, "DATA": obj{"k": c.V()}}}), nil)
	})
	add(5, "embedded Secret with an extra member", "", func(c *Canaries) any {
		s := Secret(c, nil)
		s["values"] = obj{"k": c.V()}
		return crEvent("update", customResource(obj{"template": s}), customResource(obj{"template": s}))
	})
	add(5, "embedded Secret with the core group spelled out or empty", "", func(c *Canaries) any {
		a, b := Secret(c, nil), Secret(c, nil)
		a["apiVersion"], b["apiVersion"] = "core/v1", "/v1"
		return crEvent("create", customResource(obj{"a": a, "b": arr{b}}), nil)
	})
	add(5, "embedded SecretList with kind-less items", "", func(c *Canaries) any {
		return crEvent("create", customResource(obj{"secrets": obj{"kind": "SecretList", "items": arr{obj{"data": obj{"k": c.V()}, "stringData": obj{"s": c.V()}}}}}), nil)
	})
	add(5, "embedded Secrets in a list", "", func(c *Canaries) any {
		return crEvent("create", customResource(obj{"objects": arr{Secret(c, nil), obj{"kind": "ConfigMap"}}}), nil)
	})
	add(5, "embedded Secret with tool annotations", "", func(c *Canaries) any {
		return crEvent("create", customResource(obj{"template": Secret(c, obj{"kapp.k14s.io/original": manifest(c)})}), nil)
	})
	add(5, "Secret in a List response", "", func(c *Canaries) any {
		return crEvent("list", nil, obj{"kind": "List", "items": arr{Secret(c, nil)}})
	})
	add(5, "embedded Secret in a JSON Patch of a custom resource", "", func(c *Canaries) any {
		return crEvent("patch", arr{obj{"op": "add", "path": "/spec/template", "value": Secret(c, nil)}}, nil)
	})
	kar(5, "kube-audit-rest custom resource with an embedded Secret", "", func(c *Canaries) any {
		return Review("CREATE", "example.com", "databases", "db1", customResource(obj{"template": Secret(c, nil)}), nil)
	})
	kar(5, "kube-audit-rest custom resource with an embedded SecretList", "", func(c *Canaries) any {
		return Review("UPDATE", "example.com", "databases", "db1", nil, customResource(obj{"s": obj{"kind": "SecretList", "items": arr{obj{"data": obj{"k": c.V()}}}}}))
	})

	// 6. Members outside the audit Event schema; objectRef missing or spelled otherwise.
	kindless := func(c *Canaries) obj { return obj{"data": obj{"k": c.V()}, "stringData": obj{"s": c.V()}} }
	add(6, "request member", "", func(c *Canaries) any {
		ev := Event("create", "secrets", "s1", nil, nil)
		ev["request"] = obj{"object": Secret(c, nil)}
		return ev
	})
	add(6, "responseBody member", "", func(c *Canaries) any {
		ev := Event("get", "secrets", "s1", nil, nil)
		ev["responseBody"] = c.V()
		return ev
	})
	add(6, "RequestObject member", "", func(c *Canaries) any {
		ev := Event("create", "configmaps", "c", nil, nil)
		ev["RequestObject"] = kindless(c)
		return ev
	})
	add(6, "oldObject in an audit Event", "", func(c *Canaries) any {
		ev := Event("update", "configmaps", "c", nil, nil)
		ev["oldObject"] = kindless(c)
		return ev
	})
	add(6, "kind-less patch without objectRef", "", func(c *Canaries) any {
		return without(Event("patch", "secrets", "s1", kindless(c), nil), "objectRef")
	})
	add(6, "kind-less patch with objectRef a string", "", func(c *Canaries) any {
		ev := Event("patch", "secrets", "s1", kindless(c), nil)
		ev["objectRef"] = "secrets"
		return ev
	})
	add(6, "kind-less patch with ObjectRef", "", func(c *Canaries) any {
		ev := Event("patch", "secrets", "s1", kindless(c), nil)
		ev["ObjectRef"] = ev["objectRef"]
		delete(ev, "objectRef")
		return ev
	})
	add(6, "kind-less patch with the resource capitalised", "", func(c *Canaries) any {
		ev := Event("patch", "secrets", "s1", kindless(c), nil)
		ev["objectRef"].(obj)["resource"] = "Secrets"
		ev["requestURI"] = "/api/v1/namespaces/prod/Secrets/s1"
		return ev
	})
	add(6, "kind-less patch with objectRef's member names capitalised", "", func(c *Canaries) any {
		ev := Event("patch", "secrets", "s1", kindless(c), nil)
		ev["objectRef"] = obj{"Resource": "SECRETS", "APIGroup": "", "Name": "s1"}
		ev["requestURI"] = "/apis/example.com/v1/things/s1"
		return ev
	})
	add(6, "kind-less patch by a mixed-case requestURI only", "", func(c *Canaries) any {
		ev := without(Event("patch", "secrets", "s1", kindless(c), nil), "objectRef")
		ev["requestURI"] = "/api/v1/namespaces/prod/SeCrEtS/s1"
		return ev
	})
	add(6, "kind-less patch with objectRef of another resource", "", func(c *Canaries) any {
		ev := Event("patch", "secrets", "s1", kindless(c), nil)
		ev["objectRef"] = obj{"resource": "configmaps", "apiGroup": "example.com"}
		return ev
	})
	add(6, "kind-less watch by requestURI", "", func(c *Canaries) any {
		ev := without(Event("watch", "secrets", "", nil, kindless(c)), "objectRef")
		ev["requestURI"] = "/api/v1/watch/namespaces/prod/secrets?watch=true"
		return ev
	})
	add(6, "kind-less patch by a percent-encoded requestURI", "", func(c *Canaries) any {
		ev := without(Event("patch", "secrets", "s1", kindless(c), nil), "objectRef")
		ev["requestURI"] = "/api/v1/namespaces/prod/%73ecrets/s1"
		return ev
	})
	add(6, "kind-less patch by a requestURI with dot segments or empty segments", "", func(c *Canaries) any {
		ev := without(Event("patch", "secrets", "s1", kindless(c), nil), "objectRef")
		ev["requestURI"] = "/api//v1/namespaces/prod/configmaps/../secrets/./s1"
		return ev
	})
	add(6, "kind-less patch, core group spelled out", "", func(c *Canaries) any {
		ev := Event("patch", "secrets", "s1", kindless(c), nil)
		ev["objectRef"].(obj)["apiGroup"] = "core"
		return ev
	})
	add(6, "v1beta1 Event metadata carrying annotations on a secrets event", "", func(c *Canaries) any {
		ev := Event("create", "secrets", "s1", nil, nil)
		ev["apiVersion"] = "audit.k8s.io/v1beta1"
		ev["metadata"] = obj{"creationTimestamp": "2026-11-20T10:00:00Z", "annotations": obj{"inj.example.com/v": c.V()}, "extra": c.V()}
		return ev
	})
	add(6, "responseStatus members outside Status on a secrets event", `"code":422`, func(c *Canaries) any {
		ev := Event("create", "secrets", "s1", nil, nil)
		ev["responseStatus"] = obj{"metadata": obj{}, "code": 422, "secret": obj{"k": c.V()}, "details": obj{"name": "s1", "object": c.V()}}
		return ev
	})
	add(6, "escaped member name", "", func(c *Canaries) any {
		ev := Event("create", "configmaps", "c", nil, nil)
		ev["request\u00a0Object"] = kindless(c)
		return ev
	})

	// 7. EventList smuggling.
	list := func(items any, extra obj) obj {
		l := obj{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items}
		for k, v := range extra {
			l[k] = v
		}
		return l
	}
	benign := obj{"kind": "Event", "auditID": "benign", "verb": "get", "level": "Metadata"}
	smuggled := func(c *Canaries) arr {
		return arr{obj{"kind": "AdmissionReview", "request": obj{"object": obj{"kind": "Secret", "data": obj{"password": c.V()}}}}}
	}
	add(7, "ITEMS after items", `"benign"`, func(c *Canaries) any { return list(arr{benign}, obj{"ITEMS": smuggled(c)}) })
	add(7, "Items after items", `"benign"`, func(c *Canaries) any { return list(arr{benign}, obj{"Items": smuggled(c)}) })
	add(7, "items of a non-Event", "", func(c *Canaries) any { return list(smuggled(c), nil) })
	add(7, "item with members outside the schema", `"benign"`, func(c *Canaries) any {
		return list(arr{obj{"kind": "Event", "auditID": "benign", "verb": "get", "request": obj{"object": kindless(c)}}}, nil)
	})
	add(7, "items carrying secret events", "", func(c *Canaries) any {
		return list(arr{benign, Event("create", "secrets", "s1", Secret(c, nil), Secret(c, nil))}, nil)
	})
	add(7, "item kind spelled otherwise", "", func(c *Canaries) any {
		return list(arr{obj{"kind": "event", "auditID": "x", "requestObject": obj{"kind": "Secret", "data": obj{"k": c.V()}}, "objectRef": obj{"resource": "secrets"}}}, nil)
	})

	// 8. Credentials in the request URI's query string (any event, not only secret-bearing
	// ones): a client may send its bearer token as access_token (kube-apiserver's old
	// websocket path) or token, an OAuth id_token; kube-apiserver writes the URI as sent.
	// The canary is planted as is (base64's "+/=" are legal in a raw query), so the
	// check finds it.
	// kube-audit-rest lines have no URI (the decoder rebuilds a path from the resource
	// coordinates, without a query), so every shape here is an audit Event.
	uriShape := func(name, keep, resource, query string, req any) {
		add(8, name, keep, func(c *Canaries) any {
			ev := Event("get", resource, "", req, nil)
			ev["requestURI"] = ev["requestURI"].(string) + strings.ReplaceAll(query, "{v}", c.V())
			return ev
		})
	}
	uriShape("access_token in the query of a pods list", "pods?access_token=", "pods", "?access_token={v}", nil)
	uriShape("token among kube-apiserver's parameters", "labelSelector=app%3Dweb", "pods", "?labelSelector=app%3Dweb&token={v}&limit=500", nil)
	uriShape("id_token in upper case", "?ID_TOKEN=", "configmaps", "?ID_TOKEN={v}", nil)
	uriShape("percent-encoded access_token name", "%61ccess%5Ftoken=", "pods", "?watch=true&%61ccess%5Ftoken={v}", nil)
	uriShape("percent-encoded token name with the value percent-encoded", "?%74oken=", "pods", "?%74oken=%43%41%4E%41%52%59-x&token={v}", nil)
	uriShape("access_token on an exec request, command kept", "command=sh", "pods/p/exec", "?command=sh&command=-c&access_token={v}&stdin=true", nil)
	uriShape("access_token after a semicolon", "", "pods", "?limit=1;access_token={v}", nil)
	uriShape("id_token in a second query", "", "pods", "?watch=1?id_token={v}", nil)
	add(8, "token in the query of a secrets request", "?token=", func(c *Canaries) any {
		ev := Event("get", "secrets", "s1", nil, Secret(c, nil))
		ev["requestURI"] = ev["requestURI"].(string) + "?token=" + c.V()
		return ev
	})
	return s
}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"
