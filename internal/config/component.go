// Package config loads auditship's YAML configuration (with AUDITSHIP_* environment
// overrides), decodes each component's section into the config struct its factory
// declares, and reports every problem at once, one line per key.
package config

import (
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/pipeline"
)

// Validator is implemented by component configs that can check themselves.
type Validator interface {
	Validate() error
}

// SharedResourcer is implemented by output configs that create something outside the
// agent under a name another output may use too (an Elasticsearch index template on a
// cluster). SharedResources maps each one's key (what and where, e.g. `index template
// "auditship" on http://es:9200`) to what this config puts there. Two outputs with one
// key and different values overwrite each other's at start: Load reports it.
type SharedResourcer interface {
	SharedResources() map[string]string
}

// Warner is implemented by component configs whose Validate finds things that are
// allowed but unsafe (certificate verification off, credentials over http://, a
// credential file others can read). Warnings never make a config invalid: `validate`
// prints them and the agent logs them at ERROR when it starts, whatever log_level says.
type Warner interface {
	// Warnings returns what the last Validate found, one line each, key first.
	Warnings() []string
}

// Settings is what every component is created with.
type Settings struct {
	// Name is the component's key in the config (inputs and outputs) or its filter name.
	Name   string
	Logger hclog.Logger
	// DataDir is where state (checkpoints, dead letters) belongs, 0700.
	DataDir string
	// NodeName names this agent in object keys (NODE_NAME, else the hostname).
	NodeName string
	// Once is set for run --once: inputs stop at the end of what exists.
	Once bool
	// ResetCorruptCheckpoints: start afresh (logging a warning) instead of failing when a
	// checkpoint file cannot be decoded.
	ResetCorruptCheckpoints bool
	// Metrics receives component-level counts; never nil (a no-op by default).
	Metrics Metrics
}

// Metrics is the set of counters components report that the engine cannot see itself.
type Metrics interface {
	InputEventsRead(input string, n int)
	InputBytesRead(input string, n int)
	InputEventsInvalid(input string, n int)
	InputEventsLost(input string, n int)
	InputBytesLost(input string, n int64)
	InputCheckpointLag(input string, bytes int64)
	InputLinesSkipped(input string, n int)
	// InputNULBytesSkipped counts NUL bytes skipped between lines (a copytruncate whose
	// writer kept its offset leaves a run of them).
	InputNULBytesSkipped(input string, n int64)
	// InputFileVanished counts a file the input last read as a live file (one still
	// written to) that was rotated or deleted away, and found nowhere, before the input
	// could check its end: lines written to it since were lost, how many is unknown.
	InputFileVanished(input string)
	// InputMembersRemoved counts top-level members outside the audit Event schema that
	// decoding removed from events.
	InputMembersRemoved(input string, n int)
	OutputDeadLettered(output string, n int)
	// InputCheckpointSaved reports a checkpoint save: err nil when the saved checkpoint
	// is now current (saved, or nothing new to save), else why the save failed.
	InputCheckpointSaved(input string, err error)
}

// NopMetrics discards everything.
type NopMetrics struct{}

func (NopMetrics) InputEventsRead(string, int)        {}
func (NopMetrics) InputBytesRead(string, int)         {}
func (NopMetrics) InputEventsInvalid(string, int)     {}
func (NopMetrics) InputEventsLost(string, int)        {}
func (NopMetrics) InputBytesLost(string, int64)       {}
func (NopMetrics) InputCheckpointLag(string, int64)   {}
func (NopMetrics) InputLinesSkipped(string, int)      {}
func (NopMetrics) InputNULBytesSkipped(string, int64) {}
func (NopMetrics) InputMembersRemoved(string, int)    {}
func (NopMetrics) InputFileVanished(string)           {}
func (NopMetrics) OutputDeadLettered(string, int)     {}
func (NopMetrics) InputCheckpointSaved(string, error) {}

// InputFactory creates one input type.
type InputFactory struct {
	Type string
	// NewConfig returns a pointer to a config struct holding the defaults.
	NewConfig func() any
	Create    func(cfg any, set Settings) (pipeline.Input, error)
}

// FilterFactory creates one filter type. Create must do no I/O beyond reading files the
// config names (policies, keys), so `validate` can call it. What the config's Validate
// (run by Load) compiled or loaded, it keeps and Create reuses: each expression is
// compiled once per load, and internal/agent creates each filter once.
type FilterFactory struct {
	Type      string
	NewConfig func() any
	Create    func(cfg any, set Settings) (pipeline.Filter, error)
}

// OutputFactory creates one output type; it also says how the engine should batch,
// parallelise and retry for it.
type OutputFactory struct {
	Type      string
	NewConfig func() any
	Create    func(cfg any, set Settings) (pipeline.Output, pipeline.OutputOptions, error)
	// Check, when set, reports what Create would fail on without creating anything (no
	// file created, no connection made); `validate` and a reload call it. When nil they
	// call Create and then Close, so Create must then do no I/O beyond reading the files
	// the config names (secrets, CA certificates).
	Check func(cfg any, set Settings) error
}

// Factories is the explicit set of component types a binary knows.
type Factories struct {
	Inputs  map[string]InputFactory
	Filters map[string]FilterFactory
	Outputs map[string]OutputFactory
}

// Secret is a credential from the config (a password, token, key). It prints as
// [redacted], so a config dumped to a log or an error never carries it.
type Secret string

func (Secret) String() string   { return "[redacted]" }
func (Secret) GoString() string { return "[redacted]" }

// NewOutputFactory returns the factory for outputs of type typ whose config is a *C:
// newConfig returns the defaults, create builds the output and says how the engine
// drives it.
func NewOutputFactory[C any](typ string, newConfig func() *C,
	create func(cfg *C, set Settings) (pipeline.Output, pipeline.OutputOptions, error)) OutputFactory {
	return OutputFactory{
		Type:      typ,
		NewConfig: func() any { return newConfig() },
		Create: func(cfg any, set Settings) (pipeline.Output, pipeline.OutputOptions, error) {
			c, ok := cfg.(*C)
			if !ok {
				return nil, pipeline.OutputOptions{}, fmt.Errorf("%s output: config is %T, want %T", typ, cfg, c)
			}
			return create(c, set)
		},
	}
}
