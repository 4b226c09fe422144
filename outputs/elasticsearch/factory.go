package elasticsearch

import (
	"fmt"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// TypeName is the output's `type` in the config.
const TypeName = "elasticsearch"

// NewFactory returns the factory for `type: elasticsearch` outputs.
func NewFactory() config.OutputFactory {
	return config.OutputFactory{
		Type:      TypeName,
		NewConfig: func() any { return DefaultConfig() },
		Create: func(cfg any, set config.Settings) (pipeline.Output, pipeline.OutputOptions, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, pipeline.OutputOptions{}, fmt.Errorf("elasticsearch output: config is %T, want *Config", cfg)
			}
			out, err := New(c, set)
			if err != nil {
				return nil, pipeline.OutputOptions{}, err
			}
			return out, Options(c), nil
		},
	}
}

// Options is how the engine batches, parallelises and retries for cfg.
func Options(cfg *Config) pipeline.OutputOptions {
	return pipeline.OutputOptions{
		Batch: pipeline.BatchPolicy{
			MaxEvents:     cfg.BatchMaxEvents,
			MaxBytes:      int(cfg.BatchMaxBytes),
			FlushInterval: cfg.FlushInterval,
		},
		Concurrency:  cfg.Concurrency,
		RetryInitial: cfg.RetryInitial,
		RetryMax:     cfg.RetryMax,
	}
}
