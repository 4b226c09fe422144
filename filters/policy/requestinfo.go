package policy

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// RequestInfo is what kube-apiserver's RequestInfoFactory
// (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go, with the API prefixes "api" and
// "apis", "api" groupless) parses from a request's URL: the attributes its audit policy is
// evaluated with. The policy runs before the request body is read, so a create has no
// name here even though the audit event's objectRef.name is filled in later.
type RequestInfo struct {
	// IsResourceRequest is true for /api/VERSION/... and /apis/GROUP/VERSION/... with a
	// resource; other paths are non-resource URLs, matched by Path.
	IsResourceRequest bool
	// Path is the URL's path, unescaped (as url.URL.Path), without the query.
	Path        string
	APIGroup    string
	Namespace   string
	Resource    string
	Subresource string
	Name        string
}

// ParseRequestInfo parses an audit event's requestURI (the request's path and query as
// received) the way RequestInfoFactory.NewRequestInfo parses the request's URL. verb is the
// event's verb, which is the verb RequestInfo derived: it tells a list or watch (a GET
// without a name), whose name may come from a fieldSelector on metadata.name.
//
// The rules, in kube-apiserver's order:
//   - fewer than three path segments, or a first segment other than api/apis: a
//     non-resource request; /apis/GROUP needs three more segments (GROUP/VERSION/RESOURCE);
//   - after the version, "watch" or "proxy" is a verb prefix (a proxy has no subresource);
//   - namespaces/NS/... is resource ... in namespace NS, except namespaces/NS/status and
//     namespaces/NS/finalize (and namespaces/NS alone), which are the Namespace NS itself:
//     resource namespaces, name NS, subresource status/finalize, namespace NS;
//   - the remaining segments are resource, name, subresource;
//   - a list or watch without a name takes its name from a fieldSelector requiring
//     metadata.name (=, ==) when the query decodes as ListOptions and the name is a valid
//     path segment.
func ParseRequestInfo(requestURI, verb string) RequestInfo {
	path, rawQuery, _ := strings.Cut(requestURI, "?")
	if u, err := url.ParseRequestURI(requestURI); err == nil {
		path, rawQuery = u.Path, u.RawQuery
	} else if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	info := RequestInfo{Path: path}
	parts := splitPath(path)
	if len(parts) < 3 || (parts[0] != "api" && parts[0] != "apis") {
		return info
	}
	groupless := parts[0] == "api"
	parts = parts[1:]
	if !groupless {
		if len(parts) < 3 {
			return info
		}
		info.APIGroup = parts[0]
		parts = parts[1:]
	}
	info.IsResourceRequest = true
	parts = parts[1:] // the version
	viaPrefix, proxy := false, false
	if parts[0] == "watch" || parts[0] == "proxy" {
		if len(parts) < 2 {
			// RequestInfoFactory returns an error with what it parsed so far; kube-apiserver
			// then answers 500 without evaluating a policy on the request's resource.
			return info
		}
		viaPrefix, proxy = true, parts[0] == "proxy"
		parts = parts[1:]
	}
	if parts[0] == "namespaces" {
		if len(parts) > 1 {
			info.Namespace = parts[1]
			if len(parts) > 2 && parts[2] != "status" && parts[2] != "finalize" {
				parts = parts[2:]
			}
		}
	}
	switch {
	case len(parts) >= 3 && !proxy:
		info.Subresource = parts[2]
		fallthrough
	case len(parts) >= 2:
		info.Name = parts[1]
		fallthrough
	case len(parts) >= 1:
		info.Resource = parts[0]
	}
	if info.Name == "" && !viaPrefix && (verb == "list" || verb == "watch" || verb == "get") {
		info.Name = nameFromFieldSelector(rawQuery)
	}
	return info
}

// splitPath is RequestInfoFactory's: the segments of path between slashes, the outer
// slashes trimmed.
func splitPath(path string) []string {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil
	}
	return strings.Split(path, "/")
}

// nameFromFieldSelector is the name a list or watch is narrowed to: the value of a
// fieldSelector term metadata.name=VALUE or metadata.name==VALUE, as RequestInfoFactory
// finds it (fields.ParseSelector, then RequiresExactMatch over the terms in sorted order),
// when the query decodes as ListOptions (otherwise RequestInfoFactory gives up on it) and
// VALUE is a valid path segment name. Not modelled: a labelSelector that does not parse
// also makes ListOptions fail to decode.
func nameFromFieldSelector(rawQuery string) string {
	q, _ := url.ParseQuery(rawQuery) // what parses, as http.Request.URL.Query()
	for _, k := range [...]string{"limit", "timeoutSeconds"} {
		if v, ok := q[k]; ok && len(v) > 0 {
			if _, err := strconv.ParseInt(v[0], 10, 64); err != nil {
				return ""
			}
		}
	}
	sel := q["fieldSelector"]
	if len(sel) == 0 {
		return ""
	}
	terms := splitTerms(sel[0])
	slices.Sort(terms)
	name, found := "", false
	for _, term := range terms {
		if term == "" {
			continue
		}
		field, op, value, ok := splitTerm(term)
		if !ok {
			return ""
		}
		v, ok := unescapeValue(value)
		if !ok {
			return ""
		}
		if !found && field == "metadata.name" && op != "!=" {
			name, found = v, true
		}
	}
	if name == "." || name == ".." || strings.ContainsAny(name, "/%") {
		return ""
	}
	return name
}

// splitTerms splits a field selector at commas not escaped by a backslash
// (k8s.io/apimachinery/pkg/fields).
func splitTerms(s string) []string {
	if s == "" {
		return nil
	}
	var terms []string
	start, inSlash := 0, false
	for i, c := range s {
		switch {
		case inSlash:
			inSlash = false
		case c == '\\':
			inSlash = true
		case c == ',':
			terms = append(terms, s[start:i])
			start = i + 1
		}
	}
	return append(terms, s[start:])
}

// splitTerm splits a term at its first operator: !=, == or =, tried in that order at each
// position (k8s.io/apimachinery/pkg/fields).
func splitTerm(term string) (lhs, op, rhs string, ok bool) {
	for i := range term {
		for _, op := range [...]string{"!=", "==", "="} {
			if strings.HasPrefix(term[i:], op) {
				return term[:i], op, term[i+len(op):], true
			}
		}
	}
	return "", "", "", false
}

// unescapeValue undoes a field selector value's escapes (\\, \, and \=); an unknown
// escape or an unescaped , or = is an error (k8s.io/apimachinery/pkg/fields).
func unescapeValue(s string) (string, bool) {
	if !strings.ContainsAny(s, `\,=`) {
		return s, true
	}
	var b strings.Builder
	inSlash := false
	for _, c := range s {
		if inSlash {
			if c != '\\' && c != ',' && c != '=' {
				return "", false
			}
			b.WriteRune(c)
			inSlash = false
			continue
		}
		switch c {
		case '\\':
			inSlash = true
		case ',', '=':
			return "", false
		default:
			b.WriteRune(c)
		}
	}
	if inSlash {
		return "", false // a trailing lone backslash
	}
	return b.String(), true
}
