package main

import (
	"errors"
	"io"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/agent"
	"github.com/auditship/auditship/internal/config"
)

// loadConfig loads path (agent.Load); any problem is a usage error printed one per line.
func loadConfig(path string, f config.Factories) (*config.Config, error) {
	if path == "" {
		return nil, usageErr(errors.New("-c FILE is required"))
	}
	cfg, err := agent.Load(path, f)
	if err != nil {
		return nil, usageErr(err)
	}
	return cfg, nil
}

// checkConfig loads path and builds its filters, compiling every expression and loading
// every policy once: all that `validate` promises of them, shared by validate and test.
// Filters are built with no logger and Once set; m receives their counts.
func checkConfig(path string, f config.Factories, m config.Metrics) (*agent.Assembly, error) {
	cfg, err := loadConfig(path, f)
	if err != nil {
		return nil, err
	}
	a, err := agent.Build(cfg, f, agent.Env{Metrics: m, Once: true})
	if err != nil {
		return nil, usageErr(err)
	}
	return a, nil
}

func newLogger(cfg *config.Config, w io.Writer) hclog.Logger {
	return newLoggerAt(cfg, w, hclog.LevelFromString(cfg.LogLevel))
}

// newLoggerAt is newLogger at level rather than the config's.
func newLoggerAt(cfg *config.Config, w io.Writer, level hclog.Level) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "auditship",
		Level:      level,
		JSONFormat: cfg.LogFormat == "json",
		Output:     w,
	})
}
