// Package policy provides the `audit_policy` filter: it applies a Kubernetes audit Policy to
// events after they were written, exactly as kube-apiserver's policy checker would have
// applied it when writing them (first matching rule wins, no match means None), and then
// lowers each event to the level the policy gives it.
package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

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

// Config is the `audit_policy` filter's configuration.
type Config struct {
	// PolicyFile is an audit.k8s.io/v1 Policy, as given to kube-apiserver.
	PolicyFile string `mapstructure:"policy_file"`
	// Policy is the same document inline (a YAML block string), for self-contained configs.
	Policy string `mapstructure:"policy"`

	loaded *Policy
}

// Validate loads the policy, so `validate` reports its errors (with the rule index).
func (c *Config) Validate() error {
	p, err := c.load()
	if err != nil {
		return err
	}
	c.loaded = p
	return nil
}

func (c *Config) load() (*Policy, error) {
	switch {
	case c.PolicyFile == "" && c.Policy == "":
		return nil, errors.New("policy_file: a policy file is required (or an inline policy)")
	case c.PolicyFile != "" && c.Policy != "":
		return nil, errors.New("policy_file and policy are exclusive")
	case c.PolicyFile != "":
		p, err := LoadFile(config.ResolvePath(c.PolicyFile))
		if err != nil {
			return nil, fmt.Errorf("policy_file: %w", err)
		}
		return p, nil
	default:
		p, err := Parse([]byte(c.Policy))
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		return p, nil
	}
}

// Filter applies a policy to events.
type Filter struct {
	policy *Policy
}

// New returns a filter for p.
func New(p *Policy) *Filter { return &Filter{policy: p} }

// bodiesAbove lists the bodies each level leaves out. oldObject (from kube-audit-rest) is
// the stored object, not the request: like the response it is kept only at RequestResponse.
var bodiesAbove = [...][]string{
	LevelNone:            nil,
	LevelMetadata:        {"requestObject", "responseObject", "oldObject"},
	LevelRequest:         {"responseObject", "oldObject"},
	LevelRequestResponse: nil,
}

// Apply drops the event when the policy gives it None or omits its stage, otherwise lowers
// it to the policy's level (never raising it) and strips managedFields if asked to. An
// event the policy leaves as it is stays untouched.
func (f *Filter) Apply(ev *pipeline.Event) (bool, error) {
	// Members are read one by one (Field) and bodies removed whole (DeleteField), so an
	// event is judged without decoding its bodies and written with the rest as read.
	get := ev.Field
	var a Attributes
	var groups [8]string
	a.Groups = groups[:0]
	attributesFrom(ev, &a)
	d := f.policy.Evaluate(&a)
	if d.Level == LevelNone {
		return false, nil
	}
	stage, _ := get("stage").(string)
	if has(d.OmitStages, stage) {
		return false, nil
	}
	written, known := levelFrom(get)
	if written == LevelNone && known {
		return false, nil
	}
	eff := min(d.Level, written)
	if eff != written || !known {
		ev.SetField("level", eff.String())
	}
	for _, k := range bodiesAbove[eff] {
		ev.DeleteField(k) // a body the event lacks leaves it as it was
	}
	if eff < LevelRequest && (ev.MayContain(markRequestAnnotation) || ev.MayContain(markEscape)) {
		removeRequestLevelAnnotations(ev)
	}
	if d.OmitManagedFields && eff >= LevelRequest && ev.MayHaveKey("managedFields") {
		// Cut from the bodies' bytes: nothing is decoded, and the rest of each body keeps
		// its bytes.
		for _, k := range [...]string{"requestObject", "responseObject", "oldObject"} {
			if _, err := ev.EditMember(k, stripManagedFieldsJSON); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// stripManagedFieldsJSON removes metadata.managedFields from a body's JSON, from every
// item of a list, and from the object of every row of a Table (kubectl get's
// `as=Table` responses embed each object, or its metadata, in rows[].object), as
// kube-apiserver does for omitManagedFields (copyWithoutManagedFields in
// k8s.io/apiserver/pkg/audit/request.go).
func stripManagedFieldsJSON(body []byte) ([]byte, bool) {
	out, stripped := pipeline.JSONEditMember(body, "metadata", func(md []byte) ([]byte, bool) {
		return pipeline.JSONDeleteMember(md, "managedFields")
	})
	out, inItems := pipeline.JSONEditMember(out, "items", func(items []byte) ([]byte, bool) {
		return pipeline.JSONEditElements(items, stripManagedFieldsJSON)
	})
	inRows := false
	if isTable(out) {
		out, inRows = pipeline.JSONEditMember(out, "rows", func(rows []byte) ([]byte, bool) {
			return pipeline.JSONEditElements(rows, func(row []byte) ([]byte, bool) {
				return pipeline.JSONEditMember(row, "object", stripManagedFieldsJSON)
			})
		})
	}
	return out, stripped || inItems || inRows
}

// isTable reports whether a body is a meta.k8s.io Table: only then are its rows objects
// (a custom resource may have a "rows" member of its own).
func isTable(body []byte) bool {
	table := false
	pipeline.JSONEditMember(body, "kind", func(kind []byte) ([]byte, bool) {
		table = string(kind) == `"Table"`
		return kind, false
	})
	return table
}

// requestLevelAnnotationPrefixes are the event annotations kube-apiserver writes only at
// level Request and above (admission.Attributes AddAnnotationWithLevel with
// LevelRequest): the mutating webhook dispatcher's patch annotation, which holds the
// webhook's JSON Patch with its values (k8s.io/apiserver admission/plugin/webhook/mutating
// PatchAuditAnnotationPrefix). An event lowered below Request loses them, as it would
// have been written without them.
var requestLevelAnnotationPrefixes = [...]string{"patch.webhook.admission.k8s.io/"}

var (
	markRequestAnnotation = []byte("webhook.admission.k8s.io/")
	markEscape            = []byte(`\u`)
)

// removeRequestLevelAnnotations removes the Request-level annotations from ev's
// annotations (the others, and the rest of the event, stay as they are).
func removeRequestLevelAnnotations(ev *pipeline.Event) {
	ann, ok := ev.Field("annotations").(map[string]any)
	if !ok {
		return
	}
	var kept map[string]any
	for k := range ann {
		for _, p := range requestLevelAnnotationPrefixes {
			if strings.HasPrefix(k, p) {
				if kept == nil {
					kept = make(map[string]any, len(ann))
					for k2, v2 := range ann {
						kept[k2] = v2
					}
				}
				delete(kept, k)
			}
		}
	}
	if kept != nil {
		ev.SetField("annotations", kept)
	}
}

func levelFrom(f func(string) any) (Level, bool) {
	if s, ok := f("level").(string); ok {
		if l, ok := parseLevel(s); ok {
			return l, true
		}
	}
	switch {
	case f("responseObject") != nil || f("oldObject") != nil:
		return LevelRequestResponse, false
	case f("requestObject") != nil:
		return LevelRequest, false
	}
	return LevelMetadata, false
}

// NewFactory returns the factory of `type: audit_policy`.
func NewFactory() config.FilterFactory {
	return config.FilterFactory{
		Type:      "audit_policy",
		NewConfig: func() any { return &Config{} },
		Create: func(cfg any, set config.Settings) (pipeline.Filter, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, fmt.Errorf("audit_policy filter: unexpected config type %T", cfg)
			}
			p := c.loaded
			if p == nil {
				var err error
				if p, err = c.load(); err != nil {
					return nil, err
				}
			}
			if set.Logger != nil {
				for _, w := range p.Warnings {
					set.Logger.Warn("audit policy", "filter", set.Name, "warning", w)
				}
			}
			return New(p), nil
		},
	}
}
