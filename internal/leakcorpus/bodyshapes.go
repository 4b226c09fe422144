// Leak kinds 4 and 5: token bodies, and Secrets embedded in other objects.

package leakcorpus

// tokenShapes adds shapes of leak kind 4: token bodies.
func tokenShapes(t *table) {
	t.add(4, "token request answer of an unknown kind", "", func(c *Canaries) any {
		return Event("create", "serviceaccounts/token", "s1", nil, obj{"kind": "Foo", "payload": obj{"jwt": c.V()}})
	})
	t.add(4, "token request with an extra member", `"expirationTimestamp"`, func(c *Canaries) any {
		tr := tokenRequest(c)
		tr["status"].(obj)["jwt"] = c.V()
		tr["extra"] = c.V()
		return Event("create", "serviceaccounts/token", "s1", obj{"kind": "TokenRequest", "spec": obj{"audiences": arr{"api"}}}, tr)
	})
	t.add(4, "token request with the token as an object", "", func(c *Canaries) any {
		return Event("create", "serviceaccounts/token", "s1", nil, obj{"kind": "TokenRequest", "status": obj{"token": obj{"jwt": c.V()}}})
	})
	t.add(4, "kind-less token request answer", "", func(c *Canaries) any {
		return Event("create", "serviceaccounts/token", "s1", nil, obj{"status": obj{"token": c.V()}, "other": c.V()})
	})
	t.add(4, "token request answer that is not an object", "", func(c *Canaries) any {
		return Event("create", "serviceaccounts/token", "s1", nil, arr{c.V()})
	})
	t.add(4, "token review with an extra member", `"authenticated":true`, func(c *Canaries) any {
		tr := tokenReview(c)
		tr["spec"].(obj)["extra"] = c.V()
		return tokenReviewEvent(tokenReview(c), tr)
	})
	t.add(4, "token review answer of an unknown kind", "", func(c *Canaries) any {
		return tokenReviewEvent(nil, obj{"kind": "Review", "token": c.V()})
	})
	t.add(4, "kind-less token review", "", func(c *Canaries) any {
		return tokenReviewEvent(obj{"spec": obj{"token": c.V()}}, nil)
	})
	t.add(4, "token review in a custom resource", "", func(c *Canaries) any {
		return crEvent("create", customResource(obj{"review": tokenReview(c)}), nil)
	})
	t.add(4, "token request found by requestURI alone", "", func(c *Canaries) any {
		return without(Event("create", "serviceaccounts/token", "s1", nil, obj{"kind": "Foo", "jwt": c.V()}), "objectRef")
	})
	t.add(4, "token review found by requestURI alone", "", func(c *Canaries) any {
		return without(tokenReviewEvent(obj{"spec": obj{"token": c.V()}}, nil), "objectRef")
	})
	t.kar(4, "kube-audit-rest token request", "", func(c *Canaries) any {
		return Review("CREATE", "", "serviceaccounts/token", "default", tokenRequest(c), nil)
	})
	t.kar(4, "kube-audit-rest token review of an unknown kind", "", func(c *Canaries) any {
		return Review("CREATE", "authentication.k8s.io", "tokenreviews", "", obj{"kind": "Other", "token": c.V()}, nil)
	})
}

// embeddedSecretShapes adds shapes of leak kind 5: embedded Secrets.
func embeddedSecretShapes(t *table) {
	t.add(5, "embedded Secret", `"size":1`, func(c *Canaries) any {
		return crEvent("create", customResource(obj{"size": 1, "template": Secret(c, nil)}), nil)
	})
	t.add(5, "embedded Secret with Data spelled differently", "", func(c *Canaries) any {
		return crEvent("create", customResource(obj{"template": obj{"kind": "Secret", "Data": obj{"k": c.V()}, "DATA": obj{"k": c.V()}}}), nil)
	})
	t.add(5, "embedded Secret with an extra member", "", func(c *Canaries) any {
		s := Secret(c, nil)
		s["values"] = obj{"k": c.V()}
		return crEvent("update", customResource(obj{"template": s}), customResource(obj{"template": s}))
	})
	t.add(5, "embedded Secret with the core group spelled out or empty", "", func(c *Canaries) any {
		a, b := Secret(c, nil), Secret(c, nil)
		a["apiVersion"], b["apiVersion"] = "core/v1", "/v1"
		return crEvent("create", customResource(obj{"a": a, "b": arr{b}}), nil)
	})
	t.add(5, "embedded SecretList with kind-less items", "", func(c *Canaries) any {
		return crEvent("create", customResource(obj{"secrets": obj{"kind": "SecretList", "items": arr{obj{"data": obj{"k": c.V()}, "stringData": obj{"s": c.V()}}}}}), nil)
	})
	t.add(5, "embedded Secrets in a list", "", func(c *Canaries) any {
		return crEvent("create", customResource(obj{"objects": arr{Secret(c, nil), obj{"kind": "ConfigMap"}}}), nil)
	})
	t.add(5, "embedded Secret with tool annotations", "", func(c *Canaries) any {
		return crEvent("create", customResource(obj{"template": Secret(c, obj{"kapp.k14s.io/original": manifest(c)})}), nil)
	})
	t.add(5, "Secret in a List response", "", func(c *Canaries) any {
		return crEvent("list", nil, obj{"kind": "List", "items": arr{Secret(c, nil)}})
	})
	t.add(5, "embedded Secret in a JSON Patch of a custom resource", "", func(c *Canaries) any {
		return crEvent("patch", arr{obj{"op": "add", "path": "/spec/template", "value": Secret(c, nil)}}, nil)
	})
	t.kar(5, "kube-audit-rest custom resource with an embedded Secret", "", func(c *Canaries) any {
		return Review("CREATE", "example.com", "databases", "db1", customResource(obj{"template": Secret(c, nil)}), nil)
	})
	t.kar(5, "kube-audit-rest custom resource with an embedded SecretList", "", func(c *Canaries) any {
		return Review("UPDATE", "example.com", "databases", "db1", nil, customResource(obj{"s": obj{"kind": "SecretList", "items": arr{obj{"data": obj{"k": c.V()}}}}}))
	})
}
