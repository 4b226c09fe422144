// The request attributes a policy matches on, read from a written event as kube-apiserver
// had them when it evaluated its policy.

package policy

// Attributes are the parts of a request a policy rule matches on.
type Attributes struct {
	User   string
	Groups []string
	Verb   string
	// ResourceRequest is true when the request's URL names a resource (see
	// ParseRequestInfo); otherwise Path applies.
	ResourceRequest bool
	Namespace       string
	APIGroup        string
	Resource        string
	Subresource     string
	Name            string
	// Path is the request path without its query string, unescaped.
	Path string
}

// reader is what attributesFrom reads an event through: a *pipeline.Event, whose Path
// decodes only the strings read (not the user's groups and extra, not the bodies). (The
// tests read decoded maps through it too.)
type reader interface {
	Path(path ...string) (any, bool)
	Strings(key string, names []string, out []string) bool
}

func str(r reader, path ...string) string {
	v, _ := r.Path(path...)
	s, _ := v.(string)
	return s
}

var objectRefNames = [...]string{"namespace", "apiGroup", "resource", "subresource", "name"}

// attributesFrom reads the request's attributes from an audit event as kube-apiserver had
// them when it evaluated its policy: the authenticated user (never impersonatedUser: the
// policy is evaluated before impersonation takes effect), the verb, and the resource
// coordinates RequestInfo parses from the URL (ParseRequestInfo over requestURI), not
// objectRef: objectRef.name of a create is filled in from the body after the policy was
// evaluated, and a create's URL has no name. Only an event without a requestURI falls back
// to objectRef (without the name of a create).
func attributesFrom(r reader, a *Attributes) {
	*a = Attributes{Groups: a.Groups[:0]}
	a.User = str(r, "user", "username")
	if gs, ok := r.Path("user", "groups"); ok {
		if gs, ok := gs.([]any); ok {
			for _, g := range gs {
				if s, ok := g.(string); ok {
					a.Groups = append(a.Groups, s)
				}
			}
		}
	}
	a.Verb = str(r, "verb")
	if uri := str(r, "requestURI"); uri != "" {
		info := ParseRequestInfo(uri, a.Verb)
		a.ResourceRequest = info.IsResourceRequest
		a.Namespace, a.APIGroup, a.Resource, a.Subresource, a.Name = info.Namespace, info.APIGroup, info.Resource, info.Subresource, info.Name
		a.Path = info.Path
		return
	}
	var ref [5]string
	if r.Strings("objectRef", objectRefNames[:], ref[:]) {
		a.ResourceRequest = true
		a.Namespace, a.APIGroup, a.Resource, a.Subresource, a.Name = ref[0], ref[1], ref[2], ref[3], ref[4]
		if a.Verb == "create" && a.Subresource == "" {
			a.Name = "" // named only by its body
		}
	}
}
