// Leak kinds 6 and 7: members outside the audit Event schema, and EventList smuggling.

package leakcorpus

// outsideSchemaShapes adds shapes of leak kind 6: members outside the audit Event schema
// (objectRefShapes and headerMemberShapes add the rest of the kind).
func outsideSchemaShapes(t *table) {
	t.add(6, "request member", "", func(c *Canaries) any {
		ev := Event("create", "secrets", "s1", nil, nil)
		ev["request"] = obj{"object": Secret(c, nil)}
		return ev
	})
	t.add(6, "responseBody member", "", func(c *Canaries) any {
		ev := Event("get", "secrets", "s1", nil, nil)
		ev["responseBody"] = c.V()
		return ev
	})
	t.add(6, "RequestObject member", "", func(c *Canaries) any {
		ev := Event("create", "configmaps", "c", nil, nil)
		ev["RequestObject"] = kindlessData(c)
		return ev
	})
	t.add(6, "oldObject in an audit Event", "", func(c *Canaries) any {
		ev := Event("update", "configmaps", "c", nil, nil)
		ev["oldObject"] = kindlessData(c)
		return ev
	})
}

// objectRefShapes adds shapes of leak kind 6: Secret data without a kind, found (or not)
// by an objectRef that is missing or spelled otherwise, or by the requestURI alone.
func objectRefShapes(t *table) {
	t.add(6, "kind-less patch without objectRef", "", func(c *Canaries) any {
		return without(Event("patch", "secrets", "s1", kindlessData(c), nil), "objectRef")
	})
	t.add(6, "kind-less patch with objectRef a string", "", func(c *Canaries) any {
		ev := Event("patch", "secrets", "s1", kindlessData(c), nil)
		ev["objectRef"] = "secrets"
		return ev
	})
	t.add(6, "kind-less patch with ObjectRef", "", func(c *Canaries) any {
		ev := Event("patch", "secrets", "s1", kindlessData(c), nil)
		ev["ObjectRef"] = ev["objectRef"]
		delete(ev, "objectRef")
		return ev
	})
	t.add(6, "kind-less patch with the resource capitalised", "", func(c *Canaries) any {
		ev := Event("patch", "secrets", "s1", kindlessData(c), nil)
		ev["objectRef"].(obj)["resource"] = "Secrets"
		ev["requestURI"] = "/api/v1/namespaces/prod/Secrets/s1"
		return ev
	})
	t.add(6, "kind-less patch with objectRef's member names capitalised", "", func(c *Canaries) any {
		ev := Event("patch", "secrets", "s1", kindlessData(c), nil)
		ev["objectRef"] = obj{"Resource": "SECRETS", "APIGroup": "", "Name": "s1"}
		ev["requestURI"] = "/apis/example.com/v1/things/s1"
		return ev
	})
	t.add(6, "kind-less patch by a mixed-case requestURI only", "", func(c *Canaries) any {
		ev := without(Event("patch", "secrets", "s1", kindlessData(c), nil), "objectRef")
		ev["requestURI"] = "/api/v1/namespaces/prod/SeCrEtS/s1"
		return ev
	})
	t.add(6, "kind-less patch with objectRef of another resource", "", func(c *Canaries) any {
		ev := Event("patch", "secrets", "s1", kindlessData(c), nil)
		ev["objectRef"] = obj{"resource": "configmaps", "apiGroup": "example.com"}
		return ev
	})
	t.add(6, "kind-less watch by requestURI", "", func(c *Canaries) any {
		ev := without(Event("watch", "secrets", "", nil, kindlessData(c)), "objectRef")
		ev["requestURI"] = "/api/v1/watch/namespaces/prod/secrets?watch=true"
		return ev
	})
	t.add(6, "kind-less patch by a percent-encoded requestURI", "", func(c *Canaries) any {
		ev := without(Event("patch", "secrets", "s1", kindlessData(c), nil), "objectRef")
		ev["requestURI"] = "/api/v1/namespaces/prod/%73ecrets/s1"
		return ev
	})
	t.add(6, "kind-less patch by a requestURI with dot segments or empty segments", "", func(c *Canaries) any {
		ev := without(Event("patch", "secrets", "s1", kindlessData(c), nil), "objectRef")
		ev["requestURI"] = "/api//v1/namespaces/prod/configmaps/../secrets/./s1"
		return ev
	})
	t.add(6, "kind-less patch, core group spelled out", "", func(c *Canaries) any {
		ev := Event("patch", "secrets", "s1", kindlessData(c), nil)
		ev["objectRef"].(obj)["apiGroup"] = "core"
		return ev
	})
}

// headerMemberShapes adds shapes of leak kind 6: header members
// carrying values (v1beta1 metadata, responseStatus members outside Status) and an escaped
// member name.
func headerMemberShapes(t *table) {
	t.add(6, "v1beta1 Event metadata carrying annotations on a secrets event", "", func(c *Canaries) any {
		ev := Event("create", "secrets", "s1", nil, nil)
		ev["apiVersion"] = "audit.k8s.io/v1beta1"
		ev["metadata"] = obj{"creationTimestamp": "2026-11-20T10:00:00Z", "annotations": obj{"inj.example.com/v": c.V()}, "extra": c.V()}
		return ev
	})
	t.add(6, "responseStatus members outside Status on a secrets event", `"code":422`, func(c *Canaries) any {
		ev := Event("create", "secrets", "s1", nil, nil)
		ev["responseStatus"] = obj{"metadata": obj{}, "code": 422, "secret": obj{"k": c.V()}, "details": obj{"name": "s1", "object": c.V()}}
		return ev
	})
	t.add(6, "escaped member name", "", func(c *Canaries) any {
		ev := Event("create", "configmaps", "c", nil, nil)
		ev["request\u00a0Object"] = kindlessData(c)
		return ev
	})
}

// eventListShapes adds shapes of leak kind 7: EventList smuggling.
func eventListShapes(t *table) {
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
	t.add(7, "ITEMS after items", `"benign"`, func(c *Canaries) any { return list(arr{benign}, obj{"ITEMS": smuggled(c)}) })
	t.add(7, "Items after items", `"benign"`, func(c *Canaries) any { return list(arr{benign}, obj{"Items": smuggled(c)}) })
	t.add(7, "items of a non-Event", "", func(c *Canaries) any { return list(smuggled(c), nil) })
	t.add(7, "item with members outside the schema", `"benign"`, func(c *Canaries) any {
		return list(arr{obj{"kind": "Event", "auditID": "benign", "verb": "get", "request": obj{"object": kindlessData(c)}}}, nil)
	})
	t.add(7, "items carrying secret events", "", func(c *Canaries) any {
		return list(arr{benign, Event("create", "secrets", "s1", Secret(c, nil), Secret(c, nil))}, nil)
	})
	t.add(7, "item kind spelled otherwise", "", func(c *Canaries) any {
		return list(arr{obj{"kind": "event", "auditID": "x", "requestObject": obj{"kind": "Secret", "data": obj{"k": c.V()}}, "objectRef": obj{"resource": "secrets"}}}, nil)
	})
}

// kindlessData is a body with the data and stringData of a Secret and no kind.
func kindlessData(c *Canaries) obj {
	return obj{"data": obj{"k": c.V()}, "stringData": obj{"s": c.V()}}
}
