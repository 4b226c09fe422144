// Package bench holds the end-to-end throughput benchmark of the agent: the pipeline of
// bench/bench.yaml (file input, expression drops, an audit policy, the secrets preset,
// file output) run once over a generated audit log, as `auditship run --once` runs it.
package bench

import (
	"context"
	"fmt"
	"os"

	"github.com/auditship/auditship/filters/drop"
	"github.com/auditship/auditship/filters/policy"
	"github.com/auditship/auditship/filters/redact"
	"github.com/auditship/auditship/inputs/file"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/gctune"
	fileout "github.com/auditship/auditship/outputs/file"
	"github.com/auditship/auditship/outputs/objectstore"
	"github.com/auditship/auditship/pipeline"
)

// Factories are the component types the benchmark configs use.
func Factories() config.Factories {
	f := config.Factories{
		Inputs:  map[string]config.InputFactory{},
		Filters: map[string]config.FilterFactory{},
		Outputs: map[string]config.OutputFactory{},
	}
	in := file.NewFactory()
	f.Inputs[in.Type] = in
	for _, flt := range []config.FilterFactory{drop.NewDropFactory(), drop.NewKeepFactory(), redact.NewFactory(), policy.NewFactory()} {
		f.Filters[flt.Type] = flt
	}
	for _, o := range []config.OutputFactory{fileout.NewFactory(), objectstore.NewFactory()} {
		f.Outputs[o.Type] = o
	}
	return f
}

// RunOnce loads the config at path (relative paths in it are relative to the working
// directory) and runs its pipeline until every input reached its end.
func RunOnce(ctx context.Context, path string) error {
	f := Factories()
	cfg, err := config.Load(path, f)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	set := config.Settings{DataDir: config.ResolvePath(cfg.DataDir), NodeName: "bench", Once: true, Metrics: config.NopMetrics{}}
	chain := func(comps []config.Component) (pipeline.Chain, error) {
		var c pipeline.Chain
		for _, comp := range comps {
			s := set
			s.Name = comp.Name
			flt, err := f.Filters[comp.Type].Create(comp.Config, s)
			if err != nil {
				return nil, fmt.Errorf("filter %s: %w", comp.Key, err)
			}
			c = append(c, pipeline.Stage{Name: comp.Name, Filter: flt})
		}
		return c, nil
	}
	global, err := chain(cfg.Filters)
	if err != nil {
		return err
	}
	ecfg := pipeline.Config{Filters: global}
	for _, o := range cfg.Outputs {
		filters, err := chain(o.Filters)
		if err != nil {
			return err
		}
		s := set
		s.Name = o.Name
		out, opts, err := f.Outputs[o.Type].Create(o.Config, s)
		if err != nil {
			return fmt.Errorf("output %s: %w", o.Name, err)
		}
		ecfg.Outputs = append(ecfg.Outputs, pipeline.OutputSpec{Name: o.Name, Output: out, Options: opts, Filters: filters})
	}
	for _, in := range cfg.Inputs {
		s := set
		s.Name = in.Name
		input, err := f.Inputs[in.Type].Create(in.Config, s)
		if err != nil {
			return fmt.Errorf("input %s: %w", in.Name, err)
		}
		ecfg.Inputs = append(ecfg.Inputs, pipeline.InputSpec{Name: in.Name, Input: input})
	}
	defer gctune.Auto(os.Getenv)() // as `auditship run` does
	return pipeline.New(ecfg).Run(ctx, true)
}
