package kafka

import (
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// TypeName is the output's `type` in the config.
const TypeName = "kafka"

// NewFactory returns the factory for `type: kafka` outputs.
func NewFactory() config.OutputFactory {
	return config.NewOutputFactory(TypeName, DefaultConfig,
		func(c *Config, set config.Settings) (pipeline.Output, pipeline.OutputOptions, error) {
			out, err := New(c, set)
			if err != nil {
				return nil, pipeline.OutputOptions{}, err
			}
			return out, c.Delivery.Options(), nil
		})
}
