package main

import (
	"github.com/auditship/auditship/filters/drop"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/outputs/file"
)

// factories is the explicit list of component types this binary knows; adding a
// component means adding it here, nowhere else.
func factories() config.Factories {
	f := config.Factories{
		Inputs:  map[string]config.InputFactory{},
		Filters: map[string]config.FilterFactory{},
		Outputs: map[string]config.OutputFactory{},
	}
	for _, flt := range []config.FilterFactory{drop.NewDropFactory(), drop.NewKeepFactory()} {
		f.Filters[flt.Type] = flt
	}
	for _, o := range []config.OutputFactory{file.NewFactory(), file.NewStdoutFactory()} {
		f.Outputs[o.Type] = o
	}
	return f
}
