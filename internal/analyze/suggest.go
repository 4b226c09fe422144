package analyze

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Suggestion is one filter that would cut bytes, priced on the analysed input.
// BytesSaved is what the input would have lost (an estimate for level changes: the bodies
// and managedFields the lower level would not have written); SignalsLost counts the events
// with a security signal it would drop (0 for every suggestion this package makes: noise
// groups hold none, and level changes keep every event).
type Suggestion struct {
	Kind        string `json:"kind"` // "drop", "keep-signals" or "level"
	Title       string `json:"title"`
	Filter      string `json:"filter"` // YAML of the filter (list item)
	BytesSaved  int64  `json:"bytes_saved"`
	SignalsLost int64  `json:"signals_lost"`
	Events      int64  `json:"events"`
}

// maxDropSuggestions is how many noise groups get a drop suggestion of their own.
const maxDropSuggestions = 10

func suggest(r *Report) []Suggestion {
	var out []Suggestion
	// The noisiest groups without a signal, one drop each.
	var noise, noiseEvents int64
	for _, g := range r.Groups {
		if g.Signal || strings.HasPrefix(g.UserClass, "(") {
			continue
		}
		noise += g.Bytes
		noiseEvents += g.Events
		if len(out) < maxDropSuggestions && g.User != "(other)" {
			out = append(out, Suggestion{
				Kind:       "drop",
				Title:      fmt.Sprintf("drop %s %s %s by %s (%s)", Display(g.Verb), Display(g.Resource), g.NamespaceClass, Display(g.User), Display(g.Level)),
				Filter:     "- type: drop\n  when: " + strconv.Quote(GroupExpr(g.Key)),
				BytesSaved: g.Bytes, Events: g.Events,
			})
		}
	}
	if noise > 0 {
		out = append(out, Suggestion{
			Kind:       "keep-signals",
			Title:      "keep only events with a security signal (every group above and the rest of the noise)",
			Filter:     "- type: keep\n  name: security-signals\n  when: |-\n" + indent(SignalExpr, "    "),
			BytesSaved: noise, Events: noiseEvents,
		})
	}
	// The groups with signals, at the cheapest level that keeps them.
	var readSaved, autoSaved, personSaved, readEv, autoEv, personEv, rrSaved, rrEv int64
	for _, g := range r.Groups {
		if !g.Signal {
			continue
		}
		if g.Stage == "RequestReceived" {
			// The same request is written again at a later stage, with its response.
			rrSaved += g.Bytes
			rrEv += g.Events
			continue
		}
		if g.Level == "Metadata" || g.Level == "None" {
			continue
		}
		switch {
		case !g.Write || secretBearing(g.Resource):
			readSaved += g.BodyBytes
			readEv += g.Events
		case g.UserClass != ClassPerson:
			autoSaved += g.BodyBytes
			autoEv += g.Events
		default:
			personSaved += g.ResponseBytes + (g.ManagedFieldsBytes - min64(g.ManagedFieldsBytes, g.ResponseBytes))
			personEv += g.Events
		}
	}
	if readSaved > 0 {
		out = append(out, Suggestion{Kind: "level", Title: "reads with signals, and any access to secrets and tokens: Metadata (who touched what, never the content)",
			Filter:     "audit_policy rule: {level: Metadata, verbs: [get, list, watch]} and {level: Metadata, resources: secrets, serviceaccounts/token, tokenreviews}",
			BytesSaved: readSaved, Events: readEv})
	}
	if autoSaved > 0 {
		out = append(out, Suggestion{Kind: "level", Title: "writes by service accounts: Metadata (which controller changed what)",
			Filter:     "audit_policy rule: {level: Metadata, userGroups: [system:serviceaccounts, system:nodes]}",
			BytesSaved: autoSaved, Events: autoEv})
	}
	if personSaved > 0 {
		out = append(out, Suggestion{Kind: "level", Title: "writes by people: Request with managedFields omitted (the change itself, not the server's echo)",
			Filter:     "audit_policy: omitManagedFields: true, rule {level: Request, verbs: [create, update, patch, delete, deletecollection]}",
			BytesSaved: personSaved, Events: personEv})
	}
	if rrSaved > 0 {
		out = append(out, Suggestion{Kind: "level", Title: "omit the RequestReceived stage: every request is written again when it completes, with its response status",
			Filter: `audit_policy: omitStages: ["RequestReceived"]`, BytesSaved: rrSaved, Events: rrEv})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].BytesSaved > out[j].BytesSaved })
	return out
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

// secretBearing reports whether a group's resource holds credentials (kept at Metadata).
func secretBearing(res string) bool {
	return res == "secrets" || strings.HasPrefix(res, "secrets/") || res == "serviceaccounts/token" ||
		res == "tokenreviews.authentication.k8s.io"
}

func indent(s, pre string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}

// GroupExpr is a filter expression that matches the events of group k (user class and
// user, verb, resource, namespace class, level and stage).
func GroupExpr(k Key) string {
	q := strconv.Quote
	var c []string
	u := `(user?.username ?? "")`
	groups := `(type(user?.groups) == "array" ? user.groups : [])`
	// Any user in system:unauthenticated is anonymous (classify), whatever its name: an
	// authenticating proxy sets the groups it is told to.
	named := `!("system:unauthenticated" in ` + groups + `)`
	switch k.UserClass {
	case ClassAnonymous:
		c = append(c, `(`+u+` in ["", "system:anonymous"] || "system:unauthenticated" in `+groups+`)`)
	case ClassServiceAccount:
		c = append(c, u+" startsWith "+q(strings.TrimSuffix(k.User, "*")), named)
	case ClassNode:
		c = append(c, u+` startsWith "system:node:"`, named)
	default:
		c = append(c, u+" == "+q(k.User), named)
		// A system:* user is a person in system:masters (classify): the same name is in
		// one class or the other by its groups.
		masters := `"system:masters" in ` + groups
		switch {
		case k.UserClass == ClassPerson && strings.HasPrefix(k.User, "system:"):
			c = append(c, masters)
		case k.UserClass == ClassControlPlane && k.User != loopbackUser:
			c = append(c, "!("+masters+")")
		}
	}
	// exact: an event without a verb, level or stage is grouped under "", and leaving the
	// clause out would match the same user's other verbs too (writes: signals).
	exact := func(field, v string) string {
		if v == "" {
			return "(" + field + ` ?? "") == ""`
		}
		return field + " == " + q(v)
	}
	c = append(c, exact("verb", k.Verb))
	if path, ok := strings.CutPrefix(k.Resource, "nonresource:"); ok {
		if p, wild := strings.CutSuffix(path, "/*"); wild {
			c = append(c, `objectRef == nil && (requestURI ?? "") startsWith `+q(p+"/"))
		} else {
			c = append(c, `objectRef == nil && ((requestURI ?? "") == `+q(path)+` || (requestURI ?? "") startsWith `+q(path+"?")+`)`)
		}
	} else if k.Resource != "" {
		res, sub, group := splitResource(k.Resource)
		c = append(c, `objectRef?.resource == `+q(res),
			`(objectRef?.subresource ?? "") == `+q(sub),
			`(objectRef?.apiGroup ?? "") == `+q(group))
	}
	ns := `(objectRef?.namespace ?? "")`
	switch k.NamespaceClass {
	case "cluster":
		c = append(c, ns+` == ""`)
	case "system":
		c = append(c, ns+` startsWith "kube-"`)
	case "workload":
		c = append(c, ns+` != ""`, `!(`+ns+` startsWith "kube-")`)
	}
	c = append(c, exact("level", k.Level), exact("stage", k.Stage))
	return strings.Join(c, " && ")
}

// splitResource reads a ResourceName back into resource, subresource and group.
func splitResource(name string) (res, sub, group string) {
	if q, err := strconv.QuotedPrefix(name); err == nil { // "res"/"sub"."group"
		rest := strings.TrimPrefix(name[len(q):], "/")
		qs, err := strconv.QuotedPrefix(rest)
		if err == nil {
			res, _ = strconv.Unquote(q)
			sub, _ = strconv.Unquote(qs)
			group, _ = strconv.Unquote(strings.TrimPrefix(rest[len(qs):], "."))
			return res, sub, group
		}
	}
	res, group, _ = strings.Cut(name, ".")
	res, sub, _ = strings.Cut(res, "/")
	return res, sub, group
}
