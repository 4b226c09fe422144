package policy

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/auditship/auditship/internal/secretfile"
)

// Level is an audit level, ordered: None < Metadata < Request < RequestResponse.
type Level uint8

// The audit levels.
const (
	LevelNone Level = iota
	LevelMetadata
	LevelRequest
	LevelRequestResponse
)

var levelNames = [...]string{"None", "Metadata", "Request", "RequestResponse"}

func (l Level) String() string { return levelNames[l] }

func parseLevel(s string) (Level, bool) {
	for i, n := range levelNames {
		if n == s {
			return Level(i), true
		}
	}
	return 0, false
}

var validStages = map[string]bool{"RequestReceived": true, "ResponseStarted": true, "ResponseComplete": true, "Panic": true}

// The file's shape: audit.k8s.io/v1 Policy, declared here so that the agent does not pull in
// k8s.io/apiserver.
type policyFile struct {
	APIVersion        string         `json:"apiVersion"`
	Kind              string         `json:"kind"`
	Metadata          map[string]any `json:"metadata,omitempty"`
	Rules             []ruleFile     `json:"rules"`
	OmitStages        []string       `json:"omitStages,omitempty"`
	OmitManagedFields bool           `json:"omitManagedFields,omitempty"`
}

type ruleFile struct {
	Level             string           `json:"level"`
	Users             []string         `json:"users,omitempty"`
	UserGroups        []string         `json:"userGroups,omitempty"`
	Verbs             []string         `json:"verbs,omitempty"`
	Resources         []groupResources `json:"resources,omitempty"`
	Namespaces        []string         `json:"namespaces,omitempty"`
	NonResourceURLs   []string         `json:"nonResourceURLs,omitempty"`
	OmitStages        []string         `json:"omitStages,omitempty"`
	OmitManagedFields *bool            `json:"omitManagedFields,omitempty"`
}

type groupResources struct {
	Group         string   `json:"group"`
	Resources     []string `json:"resources,omitempty"`
	ResourceNames []string `json:"resourceNames,omitempty"`
}

// Policy is a loaded, validated audit policy.
type Policy struct {
	rules []rule
	// omitStages and omitManagedFields are the policy-level defaults, used when no rule
	// matches.
	omitStages        []string
	omitManagedFields bool
	// Warnings are problems kube-apiserver would ignore too, such as unknown fields.
	Warnings []string
}

type rule struct {
	level             Level
	users             []string
	userGroups        []string
	verbs             []string
	resources         []groupResources
	namespaces        []string
	nonResourceURLs   []string
	omitStages        []string // already merged with the policy's
	omitManagedFields bool     // already resolved against the policy's
}

// LoadFile reads and validates an audit.k8s.io/v1 (or v1beta1) Policy file.
func LoadFile(path string) (*Policy, error) {
	b, err := secretfile.ReadConfig(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	p, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Parse validates a Policy document. Every problem is reported, each naming its field as
// kube-apiserver would (rules[3].level: ...).
func Parse(doc []byte) (*Policy, error) {
	f, warnings, err := decodePolicy(doc)
	if err != nil {
		return nil, err
	}
	var errs problems
	errs.stages("omitStages", f.OmitStages)
	if len(f.Rules) == 0 {
		errs.add("rules: a policy needs at least one rule")
	}
	p := &Policy{omitStages: f.OmitStages, omitManagedFields: f.OmitManagedFields, Warnings: warnings}
	for i, r := range f.Rules {
		lvl := errs.rule(fmt.Sprintf("rules[%d]", i), &r)
		omitMF := f.OmitManagedFields
		if r.OmitManagedFields != nil {
			omitMF = *r.OmitManagedFields
		}
		p.rules = append(p.rules, rule{
			level: lvl, users: r.Users, userGroups: r.UserGroups, verbs: r.Verbs,
			resources: r.Resources, namespaces: r.Namespaces, nonResourceURLs: r.NonResourceURLs,
			omitStages: union(f.OmitStages, r.OmitStages), omitManagedFields: omitMF,
		})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// decodePolicy decodes a single Policy document of a supported apiVersion, with warnings
// for the fields it ignores. Its errors end parsing: nothing more could be checked.
func decodePolicy(doc []byte) (policyFile, []string, error) {
	var f policyFile
	if bytes.Contains(doc, []byte("\n---")) && len(bytes.TrimSpace(bytes.SplitN(doc, []byte("\n---"), 2)[1])) > 0 {
		return f, nil, errors.New("the file holds several YAML documents; a policy file holds one Policy")
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return f, nil, fmt.Errorf("parse policy: %w", err)
	}
	switch {
	case head.Kind != "Policy":
		return f, nil, fmt.Errorf("kind: %q is not an audit Policy (want kind: Policy, apiVersion: audit.k8s.io/v1)", head.Kind)
	case head.APIVersion != "audit.k8s.io/v1" && head.APIVersion != "audit.k8s.io/v1beta1":
		return f, nil, fmt.Errorf("apiVersion: %q is not supported (want audit.k8s.io/v1)", head.APIVersion)
	}
	if err := yaml.Unmarshal(doc, &f); err != nil {
		return f, nil, fmt.Errorf("parse policy: %w", err)
	}
	var warnings []string
	// kube-apiserver ignores fields it does not know (real policies carry some, e.g.
	// `stages`), so they are not errors here either; they are reported as warnings because
	// a misspelt `omitStages` silently changes what is kept.
	if err := yaml.UnmarshalStrict(doc, &policyFile{}); err != nil {
		warnings = append(warnings, fmt.Sprintf("ignored: %v", err))
	}
	return f, warnings, nil
}

// problems collects every problem of a policy, in document order, so that one run of
// `validate` reports them all.
type problems []error

func (ps *problems) add(format string, a ...any) { *ps = append(*ps, fmt.Errorf(format, a...)) }

// stages reports each entry of field that is not a stage.
func (ps *problems) stages(field string, stages []string) {
	for i, s := range stages {
		if !validStages[s] {
			ps.add("%s[%d]: unknown stage %q (RequestReceived, ResponseStarted, ResponseComplete, Panic)", field, i, s)
		}
	}
}

// rule reports the problems of the rule at `at` (rules[i]) as kube-apiserver's validation
// does, and returns its level (None when it has none).
func (ps *problems) rule(at string, r *ruleFile) Level {
	lvl, ok := parseLevel(r.Level)
	if !ok {
		if r.Level == "" {
			ps.add("%s.level: is required (None, Metadata, Request, RequestResponse)", at)
		} else {
			ps.add("%s.level: unknown level %q (None, Metadata, Request, RequestResponse)", at, r.Level)
		}
	}
	ps.stages(at+".omitStages", r.OmitStages)
	if len(r.NonResourceURLs) > 0 && (len(r.Resources) > 0 || len(r.Namespaces) > 0) {
		ps.add("%s: rules cannot apply to both regular resources and non-resource URLs", at)
	}
	for j, u := range r.NonResourceURLs {
		if u == "*" {
			continue
		}
		if !strings.HasPrefix(u, "/") {
			ps.add("%s.nonResourceURLs[%d]: %q: non-resource URL rules must begin with a '/' character", at, j, u)
		}
		if u != "" && strings.Contains(u[:len(u)-1], "*") {
			ps.add("%s.nonResourceURLs[%d]: %q: non-resource URL wildcards '*' must be the final character of the rule", at, j, u)
		}
	}
	for j, gr := range r.Resources {
		if strings.Contains(gr.Group, "/") {
			ps.add("%s.resources[%d].group: %q: a group has no version (write %q)", at, j, gr.Group, strings.SplitN(gr.Group, "/", 2)[0])
		}
		if len(gr.ResourceNames) > 0 && len(gr.Resources) == 0 {
			ps.add("%s.resources[%d].resourceNames: using resourceNames requires at least one resource", at, j)
		}
	}
	return lvl
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		if !has(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
