package leakcorpus

import (
	"encoding/json"
	"strings"
)

// Shape is one way a secret reaches an audit log line.
type Shape struct {
	Name string
	// Kind is the leak kind of issue 12 it belongs to (1 to 7), or 8: a credential in the
	// request URI's query string.
	Kind int
	// Admission: the line is a kube-audit-rest AdmissionReview, not an audit Event.
	Admission bool
	// Build returns the line's JSON value, with canaries from c.
	Build func(c *Canaries) any
	// Keep is text that must survive in the output (what the preset keeps), or "".
	Keep string
}

// Line returns the shape's line in form f (shape number i names its canaries) and the
// canaries planted in it.
func (s Shape) Line(i int, f Form) ([]byte, []string) {
	c := NewCanaries(i, f)
	b, err := json.Marshal(s.Build(c))
	if err != nil {
		panic(err)
	}
	return b, c.List()
}

type obj = map[string]any
type arr = []any

// Event returns an audit Event of a core-group resource request; resource may carry a
// subresource after a slash.
func Event(verb, resource, name string, req, resp any) obj {
	res, sub, _ := strings.Cut(resource, "/")
	uri := "/api/v1/namespaces/prod/" + res
	if name != "" {
		uri += "/" + name
	}
	if sub != "" {
		uri += "/" + sub
	}
	ref := obj{"resource": res, "namespace": "prod", "apiVersion": "v1"}
	if name != "" {
		ref["name"] = name
	}
	if sub != "" {
		ref["subresource"] = sub
	}
	ev := obj{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse", "auditID": "a-" + res + "-" + verb,
		"stage": "ResponseComplete", "requestURI": uri, "verb": verb,
		"user":           obj{"username": "alice@example.com", "groups": arr{"system:authenticated"}},
		"objectRef":      ref,
		"responseStatus": obj{"metadata": obj{}, "code": 200},
	}
	if req != nil {
		ev["requestObject"] = req
	}
	if resp != nil {
		ev["responseObject"] = resp
	}
	return ev
}

// Review returns a kube-audit-rest AdmissionReview line.
func Review(op, group, resource, name string, object, old any) obj {
	res, sub, _ := strings.Cut(resource, "/")
	req := obj{
		"uid": "u-" + res + "-" + op, "operation": op, "name": name, "namespace": "prod",
		"resource":    obj{"group": group, "version": "v1", "resource": res},
		"subResource": sub,
		"userInfo":    obj{"username": "system:serviceaccount:ci:deployer"},
	}
	if object != nil {
		req["object"] = object
	}
	if old != nil {
		req["oldObject"] = old
	}
	return obj{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": req,
		"requestReceivedTimestamp": "2026-11-20T10:00:00.000000Z"}
}

// Secret returns a Secret carrying canaries in data and stringData, and the annotations
// given.
func Secret(c *Canaries, ann obj) obj {
	md := obj{"name": "s1", "namespace": "prod", "labels": obj{"app": "db"}}
	if ann != nil {
		md["annotations"] = ann
	}
	return obj{"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": md,
		"data": obj{"password": c.V()}, "stringData": obj{"token": c.V()}}
}

// manifest is a Secret manifest as text, as tools write it into annotations.
func manifest(c *Canaries) string {
	b, _ := json.Marshal(obj{"apiVersion": "v1", "kind": "Secret", "metadata": obj{"name": "s1"},
		"data": obj{"k": c.V()}, "stringData": obj{"s": c.V()}})
	return string(b)
}

func webhookPatch(patch any) string {
	b, _ := json.Marshal(obj{"configuration": "inj", "webhook": "inj.example.com", "patch": patch, "patchType": "JSONPatch"})
	return string(b)
}

func withAnnotations(ev obj, ann obj) obj {
	ev["annotations"] = ann
	return ev
}

func tokenRequest(c *Canaries) obj {
	return obj{"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
		"spec":   obj{"audiences": arr{"api"}, "expirationSeconds": 3600},
		"status": obj{"token": c.V(), "expirationTimestamp": "2026-11-20T11:00:00Z"}}
}

func tokenReview(c *Canaries) obj {
	return obj{"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
		"spec":   obj{"token": c.V(), "audiences": arr{"api"}},
		"status": obj{"authenticated": true, "user": obj{"username": "system:serviceaccount:a:b"}}}
}

func tokenReviewEvent(req, resp any) obj {
	ev := Event("create", "tokenreviews", "", req, resp)
	ev["requestURI"] = "/apis/authentication.k8s.io/v1/tokenreviews"
	ev["objectRef"] = obj{"resource": "tokenreviews", "apiGroup": "authentication.k8s.io", "apiVersion": "v1"}
	return ev
}

func customResource(spec obj) obj {
	return obj{"apiVersion": "example.com/v1", "kind": "Database", "metadata": obj{"name": "db1", "namespace": "prod"}, "spec": spec}
}

func crEvent(verb string, req, resp any) obj {
	ev := Event(verb, "databases", "db1", req, resp)
	ev["requestURI"] = "/apis/example.com/v1/namespaces/prod/databases/db1"
	ev["objectRef"] = obj{"resource": "databases", "apiGroup": "example.com", "namespace": "prod", "name": "db1", "apiVersion": "v1"}
	return ev
}

func without(m obj, keys ...string) obj {
	for _, k := range keys {
		delete(m, k)
	}
	return m
}
