// Package redact provides the `redact` filter: it removes, masks or hashes fields chosen by
// path, or by a built-in preset (kubernetes-secrets, managed-fields), and fails closed.
package redact

import (
	"errors"
	"fmt"

	"github.com/auditship/auditship/filters/condition"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// Presets.
const (
	PresetKubernetesSecrets = "kubernetes-secrets"
	PresetManagedFields     = "managed-fields"
)

// Config is the `redact` filter's configuration.
type Config struct {
	// Preset is a built-in set of fields; exclusive with Paths.
	Preset string `mapstructure:"preset"`
	// Paths are fields of the event, e.g. requestObject.spec.containers[*].env[*].value or
	// requestObject.metadata.annotations["example.com/token"].
	Paths []string `mapstructure:"paths"`
	// Action is remove, mask (the default; replaces the value by "[REDACTED]") or hash
	// (keyed HMAC-SHA256, so equal values stay comparable without being readable).
	Action string `mapstructure:"action"`
	// When, if set, limits the filter to events it is true for.
	When string `mapstructure:"when"`
	// HashKeyFile and HashKeyEnv name where the HMAC key is; it is never in the config.
	HashKeyFile string `mapstructure:"hash_key_file"`
	HashKeyEnv  string `mapstructure:"hash_key_env"`
	// AllowAnnotations (kubernetes-secrets only) adds annotation keys whose values are kept
	// on Secrets, TokenReviews and TokenRequests, to DefaultAllowedAnnotations. A key
	// ending in "*" is a prefix.
	AllowAnnotations []string `mapstructure:"allow_annotations"`
	// AllowEventAnnotations (kubernetes-secrets only) adds event annotation keys whose
	// values are kept on secret-bearing events, to DefaultAllowedEventAnnotations.
	AllowEventAnnotations []string `mapstructure:"allow_event_annotations"`

	// warnings are what the last build found unsafe but allowed (config.Warner).
	warnings []string
	// built is what Validate built (its `when` compiled, its hash key read), so the
	// factory does not build it again.
	built *Filter
}

// Validate reports every problem, one per line, each naming its key. The filter it
// builds is the one the factory then creates from this config.
func (c *Config) Validate() error {
	f, err := c.build()
	c.built = f
	return err
}

// Warnings implements config.Warner: a hash_key_file others can read.
func (c *Config) Warnings() []string { return c.warnings }

func (c *Config) build() (*Filter, error) {
	var errs []error
	c.warnings = nil
	f := &Filter{preset: c.Preset}
	switch {
	case c.Preset == "" && len(c.Paths) == 0:
		errs = append(errs, errors.New("preset or paths: one of them is required"))
	case c.Preset != "" && len(c.Paths) > 0:
		errs = append(errs, errors.New("preset and paths are exclusive: use two redact filters"))
	}
	switch c.Preset {
	case PresetKubernetesSecrets:
		var err error
		if f.allow.object, err = newKeySet(DefaultAllowedAnnotations, c.AllowAnnotations); err != nil {
			errs = append(errs, fmt.Errorf("allow_annotations: %w", err))
		}
		if f.allow.event, err = newKeySet(DefaultAllowedEventAnnotations, c.AllowEventAnnotations); err != nil {
			errs = append(errs, fmt.Errorf("allow_event_annotations: %w", err))
		}
	case "", PresetManagedFields:
		if len(c.AllowAnnotations) > 0 || len(c.AllowEventAnnotations) > 0 {
			errs = append(errs, errors.New("allow_annotations/allow_event_annotations: only used with preset kubernetes-secrets"))
		}
	}
	switch c.Preset {
	case "", PresetKubernetesSecrets:
	case PresetManagedFields:
		if c.Action != "" && c.Action != "remove" {
			errs = append(errs, fmt.Errorf("action: preset %s always removes; drop action %q", c.Preset, c.Action))
		}
	default:
		errs = append(errs, fmt.Errorf("preset: unknown preset %q (%s, %s)", c.Preset, PresetKubernetesSecrets, PresetManagedFields))
	}
	for i, p := range c.Paths {
		segs, err := parsePath(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("paths[%d]: %w", i, err))
			continue
		}
		f.paths = append(f.paths, segs)
	}
	kind, err := parseAction(c.Action)
	if err != nil {
		errs = append(errs, err)
	}
	f.act.kind = kind
	if kind == actHash {
		var warning string
		if f.act.key, warning, err = loadKey(c.HashKeyFile, c.HashKeyEnv); err != nil {
			errs = append(errs, err)
		}
		if warning != "" {
			c.warnings = append(c.warnings, warning)
		}
	} else if c.HashKeyFile != "" || c.HashKeyEnv != "" {
		errs = append(errs, errors.New("hash_key_file/hash_key_env: only used with action: hash"))
	}
	if c.When != "" {
		if f.when, err = condition.Compile(c.When); err != nil {
			errs = append(errs, fmt.Errorf("when: %w", err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// Filter redacts fields of events; it never drops one unless redaction fails.
type Filter struct {
	preset string
	paths  [][]segment
	act    action
	allow  allowLists
	when   *condition.Condition
}

// New returns the filter a config describes.
func New(c *Config) (*Filter, error) { return c.build() }

// Apply redacts ev in place, adding the number of fields redacted to ev.Redacted. An
// event with nothing to redact is left untouched (and so is written as its original
// bytes). An error means the event could not be made safe: the engine drops it.
func (f *Filter) Apply(ev *pipeline.Event) (bool, error) {
	marked := true // the event's bytes hold a marker of what the secrets preset searches for
	switch f.preset {
	case PresetKubernetesSecrets:
		if f.when == nil {
			f.act.redactURI(ev)
		}
		var target class
		target, marked = secretsGate(ev)
		if f.when == nil && target == classOther && !marked {
			return true, nil
		}
	case PresetManagedFields:
		if f.when == nil && !ev.MayContainAny(managedFieldsKey) {
			return true, nil
		}
	}
	fields := ev.Fields()
	if fields == nil {
		return false, errors.New("redact: event has no fields")
	}
	if f.when != nil {
		match, err := f.when.Eval(fields)
		if err != nil {
			return false, err
		}
		if !match {
			return true, nil
		}
	}
	p := pass{act: &f.act, allow: &f.allow, ev: ev, search: marked}
	switch f.preset {
	case PresetKubernetesSecrets:
		if f.when != nil {
			f.act.redactURI(ev)
		}
		p.secretsPreset(fields)
	case PresetManagedFields:
		p.managedFieldsPreset(fields)
	default:
		for _, segs := range f.paths {
			// The event is an object and a path starts with a field name, so the event
			// itself is never replaced or removed.
			p.applyPath(fields, segs)
		}
	}
	ev.Redacted += p.n
	ev.RemovedBodies += p.bodies
	if p.err != nil {
		return false, fmt.Errorf("redact: %w", p.err)
	}
	return true, nil
}

// NewFactory returns the factory of `type: redact`.
func NewFactory() config.FilterFactory {
	return config.FilterFactory{
		Type:      "redact",
		NewConfig: func() any { return &Config{} },
		Create: func(cfg any, _ config.Settings) (pipeline.Filter, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, fmt.Errorf("redact filter: unexpected config type %T", cfg)
			}
			if c.built != nil {
				return c.built, nil
			}
			return New(c)
		},
	}
}
