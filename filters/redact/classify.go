// Which secret-bearing resource an event is about, from objectRef and requestURI read as
// kube-apiserver reads a request (its RequestInfoFactory).

package redact

import (
	"net/url"
	"path"
	"strings"
)

// class is what a request's target says about its bodies.
type class uint8

const (
	classOther        class = iota
	classSecret             // the core-group secrets resource
	classTokenReview        // authentication.k8s.io tokenreviews
	classTokenRequest       // core-group serviceaccounts/token
)

// classify decides from objectRef (spelled in any case) and requestURI which resource the
// event is about. Either saying "secrets" makes it a secrets event (fail-closed: the two
// are written by the same server and disagree only in a forged or broken line); a
// resource named secrets in another API group (a custom resource) is not.
func classify(f map[string]any) class {
	c := classOther
	for k, v := range f {
		switch {
		case strings.EqualFold(k, "objectRef"):
			if ref, ok := v.(map[string]any); ok {
				c = classOf(c, memberFold(ref, "apiGroup"), memberFold(ref, "resource"), memberFold(ref, "subresource"))
			}
		case strings.EqualFold(k, "requestURI"):
			if uri, ok := v.(string); ok {
				c = uriClass(c, uri)
			}
		}
	}
	return c
}

// classOf returns the class of a request for resource/sub in API group, given what c
// already says: secrets wins over tokenreviews over serviceaccounts/token over the rest.
func classOf(c class, group, resource, sub string) class {
	core := group == "" || strings.EqualFold(group, "core")
	switch {
	case core && strings.EqualFold(resource, "secrets"):
		return classSecret
	case c == classSecret:
	case (core || strings.EqualFold(group, "authentication.k8s.io")) && strings.EqualFold(resource, "tokenreviews"):
		return classTokenReview
	case c == classTokenReview:
	case core && strings.EqualFold(resource, "serviceaccounts") && strings.EqualFold(sub, "token"):
		return classTokenRequest
	}
	return c
}

// memberFold returns the string member of m named name in any case ("" if none).
func memberFold(m map[string]any, name string) string {
	if s, ok := m[name].(string); ok {
		return s
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			if s, ok := v.(string); ok {
				return s
			}
		}
	}
	return ""
}

// uriClass returns what a request URI says, given what c already says: the path read as
// kube-apiserver's RequestInfoFactory reads it (empty and dot segments are segments
// there), and also with empty and dot segments resolved (path.Clean, as a proxy in front
// of it or a reader of the log may). Either reading naming a secret-bearing resource is
// enough (fail-closed).
func uriClass(c class, uri string) class {
	if group, resource, sub, ok := parseRequestURI(uri); ok {
		c = classOf(c, group, resource, sub)
	}
	p := uri
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if dec, err := url.PathUnescape(p); err == nil {
		p = dec
	}
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return c
	}
	if group, resource, sub, ok := parseRequestURI(path.Clean("/" + p)); ok {
		c = classOf(c, group, resource, sub)
	}
	return c
}

// parseRequestURI reads the API group, resource and subresource of a resource request
// path as kube-apiserver's RequestInfoFactory does: /api/{version}/... (core group) or
// /apis/{group}/{version}/..., then an optional legacy "watch", an optional
// namespaces/{namespace}, then {resource}[/{name}[/{subresource}]].
func parseRequestURI(uri string) (group, resource, sub string, ok bool) {
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	if strings.IndexByte(uri, '%') >= 0 {
		// The server routes on the decoded path: /api/v1/namespaces/p/%73ecrets is secrets.
		if dec, err := url.PathUnescape(uri); err == nil {
			uri = dec
		}
	}
	parts := strings.Split(strings.Trim(uri, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		group, parts = parts[1], parts[3:]
	default:
		return "", "", "", false
	}
	if len(parts) > 0 && parts[0] == "watch" {
		parts = parts[1:]
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	if len(parts) == 0 {
		return "", "", "", false
	}
	resource = parts[0]
	if len(parts) >= 3 {
		sub = parts[2]
	}
	return group, resource, sub, true
}
