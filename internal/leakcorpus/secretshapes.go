// Leak kind 3: secrets in a Secret body outside data and stringData, and in patches of one.

package leakcorpus

// secretFieldShapes adds shapes of leak kind 3: fields of a Secret body outside data and
// stringData (secretPatchShapes and otherSecretBodyShapes add the rest of the kind).
func secretFieldShapes(t *table) {
	t.add(3, "stringData indented under metadata", `"name":"s1"`, secretRequest("patch", func(c *Canaries) any {
		return obj{"apiVersion": "v1", "kind": "Secret", "metadata": obj{"name": "s1", "stringData": obj{"DB_PASSWORD": c.V()}}}
	}))
	t.add(3, "data indented under metadata", "", secretRequest("create", func(c *Canaries) any {
		return obj{"apiVersion": "v1", "kind": "Secret", "metadata": obj{"name": "s1", "data": obj{"k": c.V()}}}
	}))
	t.add(3, "type holds an object", "", secretRequest("create", func(c *Canaries) any {
		return obj{"kind": "Secret", "type": obj{"password": c.V()}}
	}))
	t.add(3, "type holds a list", "", secretRequest("create", func(c *Canaries) any { return obj{"kind": "Secret", "type": arr{c.V()}} }))
	t.add(3, "immutable holds a string", "", secretRequest("create", func(c *Canaries) any { return obj{"kind": "Secret", "immutable": c.V()} }))
	t.add(3, "kind holds an object", "", secretRequest("create", func(c *Canaries) any { return obj{"kind": obj{"k": c.V()}} }))
	t.add(3, "kind holds a value", "", secretRequest("create", func(c *Canaries) any { return obj{"kind": c.V(), "metadata": obj{"name": "s1"}} }))
	t.add(3, "apiVersion holds a value", "", secretRequest("create", func(c *Canaries) any { return obj{"kind": "Secret", "apiVersion": c.V()} }))
	t.add(3, "label holds an object", `"app":"db"`, secretRequest("create", func(c *Canaries) any {
		return obj{"kind": "Secret", "metadata": obj{"labels": obj{"app": "db", "x": obj{"v": c.V()}}}}
	}))
	t.add(3, "name holds an object", "", secretRequest("create", func(c *Canaries) any {
		return obj{"kind": "Secret", "metadata": obj{"name": obj{"v": c.V()}}}
	}))
	t.add(3, "ownerReference with an extra member", `"controller":true`, secretRequest("create", func(c *Canaries) any {
		return obj{"kind": "Secret", "metadata": obj{"ownerReferences": arr{obj{"kind": "Deployment", "name": "d", "uid": "u", "controller": true, "data": c.V()}}}}
	}))
	t.add(3, "managedFields values in fieldsV1 keys", `"f:data"`, secretRequest("update", func(c *Canaries) any {
		return obj{"kind": "Secret", "metadata": obj{"managedFields": arr{obj{"manager": "kubectl", "operation": "Update", "fieldsType": "FieldsV1",
			"fieldsV1": obj{"f:data": obj{"f:password": obj{}}, "f:metadata": obj{"f:finalizers": obj{`v:"` + c.V() + `"`: obj{}}},
				"f:x": c.V()}}}}}
	}))
	t.add(3, "managedFields entry with an extra member", `"manager":"kubectl"`, secretRequest("update", func(c *Canaries) any {
		return obj{"kind": "Secret", "metadata": obj{"managedFields": arr{obj{"manager": "kubectl", "data": obj{"k": c.V()}}}}}
	}))
	t.add(3, "finalizers hold objects", "", secretRequest("create", func(c *Canaries) any {
		return obj{"kind": "Secret", "metadata": obj{"finalizers": arr{"a", obj{"v": c.V()}}}}
	}))
	t.add(3, "extra top-level member", `"type":"Opaque"`, secretRequest("create", func(c *Canaries) any {
		s := Secret(c, nil)
		s["spec"] = obj{"copy": c.V()}
		return s
	}))
	t.add(3, "data value holds an object", "", secretRequest("create", func(c *Canaries) any {
		return obj{"kind": "Secret", "data": obj{"k": obj{"nested": c.V()}}}
	}))
	t.add(3, "data holds a string", "", secretRequest("create", func(c *Canaries) any { return obj{"kind": "Secret", "data": c.V()} }))
	t.add(3, "body is a string", "", secretRequest("patch", func(c *Canaries) any { return c.V() }))
}

// secretPatchShapes adds shapes of leak kind 3: strategic merge patch directives and JSON
// Patch operations on a Secret.
func secretPatchShapes(t *table) {
	t.add(3, "strategic directives with values", `"$patch":"replace"`, secretRequest("patch", func(c *Canaries) any {
		return obj{"$patch": "replace", "$setElementOrder/data": arr{obj{"k": c.V()}}, "$deleteFromPrimitiveList/finalizers": arr{c.V()},
			"$retainKeys": arr{"data", c.V()}, "data": obj{"k": c.V()}}
	}))
	t.add(3, "$patch holds a value", "", secretRequest("patch", func(c *Canaries) any { return obj{"$patch": c.V()} }))
	t.add(3, "json patch on metadata", `"/metadata/labels/x"`, secretRequest("patch", func(c *Canaries) any {
		return arr{
			obj{"op": "add", "path": "/metadata/annotations/note", "value": c.V()},
			obj{"op": "add", "path": "/metadata", "value": obj{"name": "s1", "stringData": obj{"k": c.V()}}},
			obj{"op": "add", "path": "/metadata/labels/x", "value": "y"},
		}
	}))
	t.add(3, "json patch on type and kind", "", secretRequest("patch", func(c *Canaries) any {
		return arr{obj{"op": "replace", "path": "/type", "value": obj{"k": c.V()}}, obj{"op": "replace", "path": "/kind", "value": c.V()},
			obj{"op": "replace", "path": "/immutable", "value": c.V()}, obj{"op": "add", "path": "/apiVersion", "value": c.V()}}
	}))
	t.add(3, "json patch on an unknown path", "", secretRequest("patch", func(c *Canaries) any {
		return arr{obj{"op": "add", "path": "/spec/x", "value": c.V()}, obj{"op": "add", "path": "data", "value": c.V()}}
	}))
	t.add(3, "json patch op with an extra member", "", secretRequest("patch", func(c *Canaries) any {
		return arr{obj{"op": "add", "path": "/metadata/labels/x", "value": "y", "value2": c.V()}}
	}))
	t.add(3, "json patch element that is not an op", "", secretRequest("patch", func(c *Canaries) any { return arr{c.V(), arr{c.V()}} }))
	t.add(3, "json patch test op", "", secretRequest("patch", func(c *Canaries) any {
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
	t.add(3, "json patch copies data into an annotation", "", copyInto("copy", "/data/password", "/metadata/annotations/copy"))
	t.add(3, "json patch moves data into a label", "", copyInto("move", "/data/password", "/metadata/labels/copy"))
	t.add(3, "json patch copies data into an allow-listed annotation", "", copyInto("copy", "/data/password", "/metadata/annotations/meta.helm.sh~1release-name"))
	t.add(3, "json patch moves stringData into type", "", copyInto("move", "/stringData/token", "/type"))
	t.add(3, "json patch copies data to the end of finalizers (\"-\")", "", copyInto("copy", "/data/password", "/metadata/finalizers/-"))
	t.add(3, "json patch moves data to the start of finalizers", "", copyInto("move", "/data/password", "/metadata/finalizers/0"))
}

// otherSecretBodyShapes adds shapes of leak kind 3: bodies of
// other kinds on secrets requests (tables, DeleteOptions, Status, lists), and a
// kube-audit-rest Secret with fields outside data.
func otherSecretBodyShapes(t *table) {
	t.add(3, "table cells and column definitions", `"Opaque"`, func(c *Canaries) any {
		return Event("list", "secrets", "", nil, obj{"kind": "Table", "apiVersion": "meta.k8s.io/v1",
			"columnDefinitions": arr{obj{"name": "Name", "type": "string"}, obj{"name": "Type", "type": "string"}, obj{"name": "Data", "type": "integer"},
				obj{"name": c.V(), "type": "string", "description": c.V()}},
			"rows": arr{obj{"cells": arr{"s1", "Opaque", 2, c.V()}, "object": Secret(c, nil), "extra": c.V(), "conditions": arr{obj{"message": c.V()}}}}})
	})
	t.add(3, "table cell holding an object", "", func(c *Canaries) any {
		return Event("list", "secrets", "", nil, obj{"kind": "Table", "columnDefinitions": arr{obj{"name": "Name"}},
			"rows": arr{obj{"cells": arr{obj{"v": c.V()}}}}})
	})
	t.add(3, "delete options with an extra member", `"propagationPolicy":"Background"`, secretRequest("delete", func(c *Canaries) any {
		return obj{"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1", "propagationPolicy": "Background", "data": obj{"k": c.V()}}
	}))
	t.add(3, "status response with an extra member", `"reason":"NotFound"`, func(c *Canaries) any {
		return Event("get", "secrets", "s1", nil, obj{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
			"message": `secrets "s1" not found`, "code": 404, "data": obj{"k": c.V()}, "details": obj{"name": "s1", "extra": c.V()}})
	})
	t.add(3, "status as a request body", "", secretRequest("create", func(c *Canaries) any {
		return obj{"kind": "Status", "message": c.V()}
	}))
	t.add(3, "list with items of another kind", "", func(c *Canaries) any {
		return Event("list", "secrets", "", nil, obj{"kind": "SecretList", "items": arr{obj{"kind": "ConfigMap", "data": obj{"k": c.V()}}, c.V()}, "extra": c.V()})
	})
	t.kar(3, "kube-audit-rest secret with fields outside data", "", func(c *Canaries) any {
		s := Secret(c, nil)
		s["metadata"].(obj)["stringData"] = obj{"k": c.V()}
		s["type"] = obj{"k": c.V()}
		return Review("CREATE", "", "secrets", "s1", s, nil)
	})
}

// secretRequest is a verb request on secrets with body as its request body.
func secretRequest(verb string, body func(c *Canaries) any) func(c *Canaries) any {
	return func(c *Canaries) any { return Event(verb, "secrets", "s1", body(c), nil) }
}
