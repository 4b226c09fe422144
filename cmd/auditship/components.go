package main

import (
	"github.com/auditship/auditship/filters/drop"
	"github.com/auditship/auditship/filters/policy"
	"github.com/auditship/auditship/filters/redact"
	"github.com/auditship/auditship/inputs/file"
	"github.com/auditship/auditship/inputs/webhook"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/outputs/elasticsearch"
	fileout "github.com/auditship/auditship/outputs/file"
	"github.com/auditship/auditship/outputs/kafka"
	"github.com/auditship/auditship/outputs/objectstore"
	"github.com/auditship/auditship/outputs/splunkhec"
)

// factories is the explicit list of component types this binary knows; adding a
// component means adding it here, nowhere else.
func factories() config.Factories {
	f := config.Factories{
		Inputs:  map[string]config.InputFactory{},
		Filters: map[string]config.FilterFactory{},
		Outputs: map[string]config.OutputFactory{},
	}
	for _, in := range []config.InputFactory{file.NewFactory(), webhook.NewFactory()} {
		f.Inputs[in.Type] = in
	}
	for _, flt := range []config.FilterFactory{
		drop.NewDropFactory(), drop.NewKeepFactory(), redact.NewFactory(), policy.NewFactory(),
	} {
		f.Filters[flt.Type] = flt
	}
	for _, o := range []config.OutputFactory{
		fileout.NewFactory(), fileout.NewStdoutFactory(), elasticsearch.NewFactory(), objectstore.NewFactory(),
		splunkhec.NewFactory(), kafka.NewFactory(),
	} {
		f.Outputs[o.Type] = o
	}
	return f
}
