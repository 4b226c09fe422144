package agent

import (
	"context"
	"fmt"

	"github.com/auditship/auditship/pipeline"
)

// Parts are the created components of an Assembly, ready for pipeline.New.
type Parts struct {
	Inputs  []pipeline.InputSpec
	Filters pipeline.Chain
	Outputs []pipeline.OutputSpec
}

// Close releases whatever was created, when a later step fails.
func (p *Parts) Close() {
	for _, in := range p.Inputs {
		_ = in.Input.Close()
	}
	for _, o := range p.Outputs {
		_ = o.Output.Close(context.Background())
	}
}

// Start creates the outputs, then the inputs, with the assembly's filters.
func (a *Assembly) Start() (*Parts, error) {
	parts, err := a.StartOutputs()
	if err != nil {
		return nil, err
	}
	if err := a.StartInputs(parts); err != nil {
		return nil, err
	}
	return parts, nil
}

// StartOutputs creates the outputs, each with its filters: what a reload creates while
// the running pipeline still runs, since inputs load checkpoints the running inputs
// still write. On failure it closes what it created.
func (a *Assembly) StartOutputs() (*Parts, error) {
	parts := &Parts{Filters: a.Filters}
	for _, o := range a.Config.Outputs {
		out, opts, err := a.f.Outputs[o.Type].Create(o.Config, a.settings("output", o.Name))
		if err != nil {
			parts.Close()
			return nil, fmt.Errorf("create output %s: %w", o.Name, err)
		}
		parts.Outputs = append(parts.Outputs, pipeline.OutputSpec{Name: o.Name, Output: out, Options: opts, Filters: a.OutputFilters[o.Name]})
	}
	return parts, nil
}

// StartInputs adds the inputs to parts; on failure it closes everything in parts.
func (a *Assembly) StartInputs(parts *Parts) error {
	for _, in := range a.Config.Inputs {
		input, err := a.f.Inputs[in.Type].Create(in.Config, a.settings("input", in.Name))
		if err != nil {
			parts.Close()
			return fmt.Errorf("create input %s: %w", in.Name, err)
		}
		parts.Inputs = append(parts.Inputs, pipeline.InputSpec{Name: in.Name, Input: input})
	}
	return nil
}
