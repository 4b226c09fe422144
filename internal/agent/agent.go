// Package agent is the one assembly of auditship: the default component list
// (Factories), loading a config (Load), building its filters once (Build), checking
// what would stop its outputs from starting (Assembly.Check) and creating its outputs
// and inputs (Assembly.Start). `auditship run`, `validate`, `test`, a reload and the
// benchmark all go through it, so they accept and build the same thing.
//
// Each filter is created once per loaded config, and each expression compiled once: the
// filter's Validate (run by config.Load) compiles it and keeps the result, and the
// filter's factory reuses it. A reload builds the new config's filters while the running
// pipeline goes on (they must succeed for the reload to go ahead) and starts the new
// pipeline with those same filters.
package agent

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/safefile"
	"github.com/auditship/auditship/pipeline"
)

// Env is what the process gives every component, whatever the config says.
type Env struct {
	// Logger is the agent's logger; components get it named after themselves. Nil
	// discards.
	Logger hclog.Logger
	// Metrics receives component-level counts; nil discards.
	Metrics config.Metrics
	// Once is set for run --once: inputs stop at the end of what exists.
	Once bool
	// NodeName names this agent in object keys; empty means NODE_NAME, else the hostname.
	NodeName string
}

// Load reads, decodes and validates the config at path against f (config.Load): every
// problem at once, as config.Problems. Validating compiles every expression and loads
// every policy.
func Load(path string, f config.Factories) (*config.Config, error) {
	return config.Load(path, f)
}

// Assembly is a loaded config with its filters built.
type Assembly struct {
	Config *config.Config
	// Filters run on every event; OutputFilters[name] only on what goes to output name.
	Filters       pipeline.Chain
	OutputFilters map[string]pipeline.Chain

	f   config.Factories
	env Env
}

// Build creates cfg's filters (the global ones and every output's), each once; a filter
// that cannot be created is a problem against its key. All problems are returned
// together as config.Problems.
func Build(cfg *config.Config, f config.Factories, env Env) (*Assembly, error) {
	if env.Logger == nil {
		env.Logger = hclog.NewNullLogger()
	}
	if env.Metrics == nil {
		env.Metrics = config.NopMetrics{}
	}
	if env.NodeName == "" {
		env.NodeName = nodeName()
	}
	a := &Assembly{Config: cfg, OutputFilters: map[string]pipeline.Chain{}, f: f, env: env}
	var problems []string
	a.Filters, problems = a.chain(cfg.Filters)
	for _, o := range cfg.Outputs {
		chain, p := a.chain(o.Filters)
		problems = append(problems, p...)
		a.OutputFilters[o.Name] = chain
	}
	if len(problems) > 0 {
		return nil, config.Problems(problems)
	}
	return a, nil
}

// chain creates comps in order; a failure (an expression that does not compile, a policy
// that does not load) is reported against the filter's key.
func (a *Assembly) chain(comps []config.Component) (pipeline.Chain, []string) {
	var chain pipeline.Chain
	var problems []string
	for _, c := range comps {
		s := a.settings("filter", c.Name)
		flt, err := a.f.Filters[c.Type].Create(c.Config, s)
		if err != nil {
			problems = append(problems, config.ProblemLines(a.Config.Path, c.Key, err)...)
			continue
		}
		chain = append(chain, pipeline.Stage{Name: c.Name, Filter: flt})
	}
	return chain, problems
}

// settings are what component name of kind (input, filter, output) is created with.
func (a *Assembly) settings(kind, name string) config.Settings {
	return config.Settings{
		Name:                    name,
		Logger:                  a.env.Logger.Named(kind).With(kind, name),
		DataDir:                 config.ResolvePath(a.Config.DataDir),
		NodeName:                a.env.NodeName,
		Once:                    a.env.Once,
		ResetCorruptCheckpoints: a.Config.ResetCorruptCheckpoints,
		Metrics:                 a.env.Metrics,
	}
}

// Check reports, one problem per line as config.Problems, what would stop the outputs
// from being created (a secret or CA file that is missing, empty or holds no
// certificate, an output path that is a directory or a symlink) or the agent from using
// its data_dir, or the engine from writing its dead letters (dead_letter_path).
// `validate` and reloads call it, so a config that validates can be
// started. It creates nothing: an output factory's Check, else Create and Close, with
// no logger, no metrics and Once set.
func (a *Assembly) Check() error {
	var problems []string
	for _, o := range a.Config.Outputs {
		s := a.settings("output", o.Name)
		s.Logger, s.Metrics, s.Once = hclog.NewNullLogger(), config.NopMetrics{}, true
		fac := a.f.Outputs[o.Type]
		var err error
		var dlq string
		if p, ok := o.Config.(deadLetterPather); ok {
			dlq = p.PathFor(s, false)
		}
		if fac.Check != nil {
			err = fac.Check(o.Config, s)
		} else {
			var out pipeline.Output
			var opts pipeline.OutputOptions
			if out, opts, err = fac.Create(o.Config, s); err == nil {
				_ = out.Close(context.Background())
				dlq = opts.DeadLetterPath
			}
		}
		if err == nil && dlq != "" {
			// The engine writes there what the destination refuses for good, and
			// acknowledges nothing until it could: a path that can never be written
			// would wedge the output at its first such event.
			if derr := safefile.Check(dlq); derr != nil {
				err = fmt.Errorf("dead_letter_path: %w", derr)
			}
		}
		if err != nil {
			problems = append(problems, config.ProblemLines(a.Config.Path, o.Key, err)...)
		}
	}
	// data_dir is no output, but a config that validates must start: the agent refuses a
	// data_dir where checkpoints cannot be saved (internal/datadir).
	if err := safefile.CheckDir(config.ResolvePath(a.Config.DataDir)); err != nil {
		problems = append(problems, config.ProblemLines(a.Config.Path, "data_dir", err)...)
	}
	if len(problems) > 0 {
		return config.Problems(problems)
	}
	return nil
}

// deadLetterPather is an output config with the dead_letter_path key (one that squashes
// delivery.DeadLetters): PathFor(set, false) is the configured file, "" when none is set.
type deadLetterPather interface {
	PathFor(set config.Settings, byDefault bool) string
}

func nodeName() string {
	if n := os.Getenv("NODE_NAME"); n != "" {
		return n
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "unknown-node"
}
