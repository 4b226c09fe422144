package kafka

import (
	"fmt"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// TypeName is the output's `type` in the config.
const TypeName = "kafka"

// NewFactory returns the factory for `type: kafka` outputs.
func NewFactory() config.OutputFactory {
	return config.OutputFactory{
		Type:      TypeName,
		NewConfig: func() any { return DefaultConfig() },
		Create: func(cfg any, set config.Settings) (pipeline.Output, pipeline.OutputOptions, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, pipeline.OutputOptions{}, fmt.Errorf("kafka output: config is %T, want *Config", cfg)
			}
			out, err := New(c, set)
			if err != nil {
				return nil, pipeline.OutputOptions{}, err
			}
			return out, c.Delivery.Options(), nil
		},
	}
}
