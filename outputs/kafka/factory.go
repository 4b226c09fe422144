package kafka

import (
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/delivery"
)

// TypeName is the output's `type` in the config.
const TypeName = "kafka"

// NewFactory returns the factory for `type: kafka` outputs.
func NewFactory() config.OutputFactory {
	return delivery.NewOutputFactory(TypeName, DefaultConfig, New)
}
