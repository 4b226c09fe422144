// Rule matching, kube-apiserver's policy checker (k8s.io/apiserver/pkg/audit/policy/checker.go)
// over the request's attributes: the first matching rule decides.

package policy

import (
	"strings"
)

// Decision is what a policy says about one request.
type Decision struct {
	Level             Level
	OmitStages        []string
	OmitManagedFields bool
}

// Evaluate returns the decision of the first rule that matches a, or None.
func (p *Policy) Evaluate(a *Attributes) Decision {
	for i := range p.rules {
		r := &p.rules[i]
		if r.matches(a) {
			return Decision{Level: r.level, OmitStages: r.omitStages, OmitManagedFields: r.omitManagedFields}
		}
	}
	return Decision{Level: LevelNone, OmitStages: p.omitStages, OmitManagedFields: p.omitManagedFields}
}

func (r *rule) matches(a *Attributes) bool {
	if len(r.users) > 0 && !has(r.users, a.User) {
		return false
	}
	if len(r.userGroups) > 0 {
		matched := false
		for _, g := range a.Groups {
			if has(r.userGroups, g) {
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	if len(r.verbs) > 0 && !has(r.verbs, a.Verb) {
		return false
	}
	if len(r.namespaces) > 0 || len(r.resources) > 0 {
		return r.matchesResource(a)
	}
	if len(r.nonResourceURLs) > 0 {
		return r.matchesNonResource(a)
	}
	return true
}

func (r *rule) matchesNonResource(a *Attributes) bool {
	if a.ResourceRequest {
		return false
	}
	for _, spec := range r.nonResourceURLs {
		if spec == "*" || spec == a.Path ||
			(strings.HasSuffix(spec, "*") && strings.HasPrefix(a.Path, strings.TrimRight(spec, "*"))) {
			return true
		}
	}
	return false
}

func (r *rule) matchesResource(a *Attributes) bool {
	if !a.ResourceRequest {
		return false
	}
	// Cluster-scoped resources have the empty namespace.
	if len(r.namespaces) > 0 && !has(r.namespaces, a.Namespace) {
		return false
	}
	if len(r.resources) == 0 {
		return true
	}
	combined := a.Resource
	if a.Subresource != "" {
		combined = a.Resource + "/" + a.Subresource
	}
	for _, gr := range r.resources {
		if gr.Group != a.APIGroup {
			continue
		}
		if len(gr.Resources) == 0 {
			return true
		}
		if len(gr.ResourceNames) > 0 && !has(gr.ResourceNames, a.Name) {
			continue
		}
		for _, res := range gr.Resources {
			switch {
			case res == combined || res == "*":
				return true
			// The trims are kube-apiserver's (TrimLeft "*/", TrimRight "/*": character sets),
			// so "*//status" and "pods/**" match as they do there.
			case a.Subresource != "" && strings.HasPrefix(res, "*/") && a.Subresource == strings.TrimLeft(res, "*/"):
				return true
			case strings.HasSuffix(res, "/*") && a.Resource == strings.TrimRight(res, "/*"):
				// "res/*" matches the resource and all its subresources.
				return true
			}
		}
	}
	return false
}
