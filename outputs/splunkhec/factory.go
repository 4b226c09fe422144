package splunkhec

import (
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/delivery"
)

// TypeName is the output's `type` in the config.
const TypeName = "splunk_hec"

// NewFactory returns the factory for `type: splunk_hec` outputs.
func NewFactory() config.OutputFactory {
	return delivery.NewOutputFactory(TypeName, DefaultConfig, New)
}
