// Package bench holds the end-to-end throughput benchmark of the agent: the pipeline of
// bench/bench.yaml (file input, expression drops, an audit policy, the secrets preset,
// file output) run once over a generated audit log, as `auditship run --once` runs it.
package bench

import (
	"context"
	"fmt"
	"os"

	"github.com/auditship/auditship/internal/agent"
	"github.com/auditship/auditship/internal/gctune"
	"github.com/auditship/auditship/pipeline"
)

// RunOnce loads the config at path (relative paths in it are relative to the working
// directory) and runs its pipeline until every input reached its end. It assembles the
// pipeline as `auditship run --once` does (internal/agent), without logging or metrics.
func RunOnce(ctx context.Context, path string) error {
	f := agent.Factories()
	cfg, err := agent.Load(path, f)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	a, err := agent.Build(cfg, f, agent.Env{Once: true, NodeName: "bench"})
	if err != nil {
		return err
	}
	parts, err := a.Start()
	if err != nil {
		return err
	}
	defer gctune.Auto(os.Getenv)() // as `auditship run` does
	return pipeline.New(pipeline.Config{Inputs: parts.Inputs, Filters: parts.Filters, Outputs: parts.Outputs}).Run(ctx, true)
}
