package elasticsearch

import (
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/delivery"
	"github.com/auditship/auditship/pipeline"
)

// TypeName is the output's `type` in the config.
const TypeName = "elasticsearch"

// NewFactory returns the factory for `type: elasticsearch` outputs.
func NewFactory() config.OutputFactory {
	return delivery.NewOutputFactory(TypeName, DefaultConfig, New)
}

// Options is how the engine batches, parallelises, retries and dead-letters for cfg (the
// dead-letter file as configured: NewFactory adds the default).
func Options(cfg *Config) pipeline.OutputOptions { return cfg.Delivery.Options() }
