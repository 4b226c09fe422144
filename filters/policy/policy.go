// Package policy provides the `audit_policy` filter: it applies a Kubernetes audit Policy to
// events after they were written, exactly as kube-apiserver's policy checker would have
// applied it when writing them (first matching rule wins, no match means None), and then
// lowers each event to the level the policy gives it.
package policy

import (
	"errors"
	"fmt"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

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
	if eff < LevelRequest && ev.MayContainAny(requestLevelMarkers) {
		removeRequestLevelAnnotations(ev)
	}
	if d.OmitManagedFields && eff >= LevelRequest && ev.MayContainAny(managedFieldsKey) {
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
