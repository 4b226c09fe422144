package agent

import (
	"github.com/auditship/auditship/filters/drop"
	"github.com/auditship/auditship/filters/policy"
	"github.com/auditship/auditship/filters/redact"
	"github.com/auditship/auditship/inputs/file"
	"github.com/auditship/auditship/inputs/webhook"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/outputs/elasticsearch"
	fileout "github.com/auditship/auditship/outputs/file"
	"github.com/auditship/auditship/outputs/httpout"
	"github.com/auditship/auditship/outputs/kafka"
	"github.com/auditship/auditship/outputs/objectstore"
	"github.com/auditship/auditship/outputs/splunkhec"
)

// Factories returns the default component list: every input, filter and output type
// the auditship binary knows. Registering a component is one line here (and its
// import); `run`, `validate`, `test`, reloads and the benchmark all read this list.
func Factories() config.Factories {
	return newFactories(components())
}

// components is the default component list, one line per component type.
func components() (ins []config.InputFactory, flts []config.FilterFactory, outs []config.OutputFactory) {
	ins = []config.InputFactory{
		file.NewFactory(),
		webhook.NewFactory(),
	}
	flts = []config.FilterFactory{
		drop.NewDropFactory(),
		drop.NewKeepFactory(),
		redact.NewFactory(),
		policy.NewFactory(),
	}
	outs = []config.OutputFactory{
		fileout.NewFactory(),
		fileout.NewStdoutFactory(),
		elasticsearch.NewFactory(),
		objectstore.NewFactory(),
		splunkhec.NewFactory(),
		kafka.NewFactory(),
		httpout.NewFactory(),
	}
	return ins, flts, outs
}

// newFactories indexes the lists by type.
func newFactories(ins []config.InputFactory, flts []config.FilterFactory, outs []config.OutputFactory) config.Factories {
	f := config.Factories{
		Inputs:  make(map[string]config.InputFactory, len(ins)),
		Filters: make(map[string]config.FilterFactory, len(flts)),
		Outputs: make(map[string]config.OutputFactory, len(outs)),
	}
	for _, in := range ins {
		f.Inputs[in.Type] = in
	}
	for _, flt := range flts {
		f.Filters[flt.Type] = flt
	}
	for _, o := range outs {
		f.Outputs[o.Type] = o
	}
	return f
}
