package policy

import (
	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/config"
)

func configSettings() config.Settings {
	return config.Settings{Name: "audit_policy-0", Logger: hclog.NewNullLogger(), Metrics: config.NopMetrics{}}
}
