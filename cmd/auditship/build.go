package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/safefile"
	"github.com/auditship/auditship/metrics"
	"github.com/auditship/auditship/pipeline"
)

// loadConfig loads path; any problem is a usage error printed one per line.
func loadConfig(path string, f config.Factories) (*config.Config, error) {
	if path == "" {
		return nil, usageErr(errors.New("-c FILE is required"))
	}
	cfg, err := config.Load(path, f)
	if err != nil {
		return nil, usageErr(err)
	}
	return cfg, nil
}

func newLogger(cfg *config.Config, w io.Writer) hclog.Logger {
	return newLoggerAt(cfg, w, hclog.LevelFromString(cfg.LogLevel))
}

// newLoggerAt is newLogger at level rather than the config's.
func newLoggerAt(cfg *config.Config, w io.Writer, level hclog.Level) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "auditship",
		Level:      level,
		JSONFormat: cfg.LogFormat == "json",
		Output:     w,
	})
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

func baseSettings(cfg *config.Config, log hclog.Logger, m *metrics.Metrics, once bool) config.Settings {
	return config.Settings{
		Logger:                  log,
		DataDir:                 config.ResolvePath(cfg.DataDir),
		NodeName:                nodeName(),
		Once:                    once,
		ResetCorruptCheckpoints: cfg.ResetCorruptCheckpoints,
		Metrics:                 m,
	}
}

// buildChain creates filters; a failure (an expression that does not compile, a policy
// that does not load) is reported against the filter's key.
func buildChain(cfg *config.Config, comps []config.Component, f config.Factories, set config.Settings) (pipeline.Chain, []string) {
	var chain pipeline.Chain
	var problems []string
	for _, c := range comps {
		s := set
		s.Name = c.Name
		s.Logger = set.Logger.Named("filter").With("filter", c.Name)
		flt, err := f.Filters[c.Type].Create(c.Config, s)
		if err != nil {
			problems = append(problems, problemLines(cfg.Path, c.Key, err)...)
			continue
		}
		chain = append(chain, pipeline.Stage{Name: c.Name, Filter: flt})
	}
	return chain, problems
}

func problemLines(file, key string, err error) []string {
	var out []string
	for _, line := range strings.Split(config.RedactURLs(err.Error()), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, fmt.Sprintf("%s: %s: %s", file, key, line))
		}
	}
	return out
}

// buildFilters creates the global and every output's filters, collecting all problems.
func buildFilters(cfg *config.Config, f config.Factories, set config.Settings) (pipeline.Chain, map[string]pipeline.Chain, error) {
	global, problems := buildChain(cfg, cfg.Filters, f, set)
	perOutput := map[string]pipeline.Chain{}
	for _, o := range cfg.Outputs {
		chain, p := buildChain(cfg, o.Filters, f, set)
		problems = append(problems, p...)
		perOutput[o.Name] = chain
	}
	if len(problems) > 0 {
		return nil, nil, usageErr(config.Problems(problems))
	}
	return global, perOutput, nil
}

// checkConfig loads path and builds its filters, compiling every expression and loading
// every policy: all that `validate` promises, shared by validate, test and reload.
func checkConfig(path string, f config.Factories, m *metrics.Metrics) (*config.Config, pipeline.Chain, map[string]pipeline.Chain, error) {
	cfg, err := loadConfig(path, f)
	if err != nil {
		return nil, nil, nil, err
	}
	global, perOutput, err := buildFilters(cfg, f, baseSettings(cfg, hclog.NewNullLogger(), m, true))
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, global, perOutput, nil
}

// checkOutputs reports, one problem per line, what would stop cfg's outputs from being
// created (a secret or CA file that is missing, empty or holds no certificate, an output
// path that is a directory or a symlink) or the agent from using its data_dir. `validate` and reloads call it, so a config that
// validates can be started.
func checkOutputs(cfg *config.Config, f config.Factories, m *metrics.Metrics) error {
	set := baseSettings(cfg, hclog.NewNullLogger(), m, true)
	var problems []string
	for _, o := range cfg.Outputs {
		s := set
		s.Name = o.Name
		fac := f.Outputs[o.Type]
		var err error
		if fac.Check != nil {
			err = fac.Check(o.Config, s)
		} else {
			var out pipeline.Output
			if out, _, err = fac.Create(o.Config, s); err == nil {
				_ = out.Close(context.Background())
			}
		}
		if err != nil {
			problems = append(problems, problemLines(cfg.Path, o.Key, err)...)
		}
	}
	// data_dir is no output, but a config that validates must start: the agent refuses a
	// data_dir where checkpoints cannot be saved (internal/datadir).
	if err := safefile.CheckDir(config.ResolvePath(cfg.DataDir)); err != nil {
		problems = append(problems, problemLines(cfg.Path, "data_dir", err)...)
	}
	if len(problems) > 0 {
		return usageErr(config.Problems(problems))
	}
	return nil
}

// pipelineParts are the created components of a config.
type pipelineParts struct {
	inputs  []pipeline.InputSpec
	filters pipeline.Chain
	outputs []pipeline.OutputSpec
}

// closeAll releases whatever was created, when a later step fails.
func (p *pipelineParts) closeAll() {
	for _, in := range p.inputs {
		_ = in.Input.Close()
	}
	for _, o := range p.outputs {
		_ = o.Output.Close(context.Background())
	}
}

// buildPipeline creates every component of cfg.
func buildPipeline(cfg *config.Config, f config.Factories, set config.Settings) (*pipelineParts, error) {
	parts, err := buildOutputs(cfg, f, set)
	if err != nil {
		return nil, err
	}
	if err := buildInputs(cfg, f, set, parts); err != nil {
		return nil, err
	}
	return parts, nil
}

// buildOutputs creates cfg's filters and outputs: what a reload builds while the running
// pipeline still runs, since inputs load checkpoints the running inputs still write.
func buildOutputs(cfg *config.Config, f config.Factories, set config.Settings) (*pipelineParts, error) {
	global, perOutput, err := buildFilters(cfg, f, set)
	if err != nil {
		return nil, err
	}
	parts := &pipelineParts{filters: global}
	for _, o := range cfg.Outputs {
		s := set
		s.Name = o.Name
		s.Logger = set.Logger.Named("output").With("output", o.Name)
		out, opts, err := f.Outputs[o.Type].Create(o.Config, s)
		if err != nil {
			parts.closeAll()
			return nil, fmt.Errorf("create output %s: %w", o.Name, err)
		}
		parts.outputs = append(parts.outputs, pipeline.OutputSpec{Name: o.Name, Output: out, Options: opts, Filters: perOutput[o.Name]})
	}
	return parts, nil
}

// buildInputs adds cfg's inputs to parts; on failure it closes everything in parts.
func buildInputs(cfg *config.Config, f config.Factories, set config.Settings, parts *pipelineParts) error {
	for _, in := range cfg.Inputs {
		s := set
		s.Name = in.Name
		s.Logger = set.Logger.Named("input").With("input", in.Name)
		input, err := f.Inputs[in.Type].Create(in.Config, s)
		if err != nil {
			parts.closeAll()
			return fmt.Errorf("create input %s: %w", in.Name, err)
		}
		parts.inputs = append(parts.inputs, pipeline.InputSpec{Name: in.Name, Input: input})
	}
	return nil
}
