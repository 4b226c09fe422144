// Package drop provides the `drop` and `keep` filters: an expr-lang condition over the
// event's JSON shape decides whether the event goes on.
package drop

import (
	"errors"
	"fmt"

	"github.com/auditship/auditship/filters/condition"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// Config is the configuration of both filters.
type Config struct {
	// When is the expression; drop removes the events it is true for, keep the others.
	When string `mapstructure:"when"`

	// cond is what Validate compiled, so the factory does not compile it again.
	cond *condition.Condition
}

// Validate compiles the expression so that `validate` reports a bad one by key, and
// keeps it for the filter the factory creates from this config.
func (c *Config) Validate() error {
	if c.When == "" {
		return errors.New("when: an expression is required")
	}
	cond, err := condition.Compile(c.When)
	if err != nil {
		return fmt.Errorf("when: %w", err)
	}
	c.cond = cond
	return nil
}

// Filter drops (or keeps) the events its condition matches.
type Filter struct {
	cond *condition.Condition
	// keepMatching is true for `keep`: the condition says what survives.
	keepMatching bool
}

// Apply evaluates the condition. An evaluation error is returned, so the engine drops the
// event and counts it rather than guessing.
func (f *Filter) Apply(ev *pipeline.Event) (bool, error) {
	match, err := f.cond.EvalEvent(ev)
	if err != nil {
		return false, err
	}
	return match == f.keepMatching, nil
}

// New returns a drop filter (keepMatching false) or a keep filter (true) for when.
func New(when string, keepMatching bool) (*Filter, error) {
	cond, err := condition.Compile(when)
	if err != nil {
		return nil, fmt.Errorf("when: %w", err)
	}
	return &Filter{cond: cond, keepMatching: keepMatching}, nil
}

func factory(typ string, keepMatching bool) config.FilterFactory {
	return config.FilterFactory{
		Type:      typ,
		NewConfig: func() any { return &Config{} },
		Create: func(cfg any, _ config.Settings) (pipeline.Filter, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, fmt.Errorf("%s filter: unexpected config type %T", typ, cfg)
			}
			if c.cond != nil && c.cond.String() == c.When {
				return &Filter{cond: c.cond, keepMatching: keepMatching}, nil
			}
			return New(c.When, keepMatching)
		},
	}
}

// NewDropFactory returns the factory of `type: drop`: events matching `when` are dropped.
func NewDropFactory() config.FilterFactory { return factory("drop", false) }

// NewKeepFactory returns the factory of `type: keep`: only events matching `when` go on.
func NewKeepFactory() config.FilterFactory { return factory("keep", true) }
