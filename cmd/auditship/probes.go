package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/httpapi"
	"github.com/auditship/auditship/metrics"
	"github.com/auditship/auditship/pipeline"
)

// liveState is the running state the HTTP probes look at across reloads.
type liveState struct {
	mu      sync.Mutex
	engine  *pipeline.Engine
	inputs  []pipeline.InputSpec
	outputs []pipeline.OutputSpec
	m       *metrics.Metrics
	wedge   time.Duration
	log     hclog.Logger
}

func (a *liveState) set(e *pipeline.Engine, ins []pipeline.InputSpec, outs []pipeline.OutputSpec) {
	a.mu.Lock()
	a.engine, a.inputs, a.outputs = e, ins, outs
	a.mu.Unlock()
}

func (a *liveState) healthz(context.Context) error {
	a.mu.Lock()
	e := a.engine
	a.mu.Unlock()
	if e == nil {
		return nil
	}
	if idle := time.Since(e.LastProgress()); idle > a.wedge && a.m.Lag() > 0 {
		return fmt.Errorf("wedged: %d bytes pending and nothing delivered for %s", a.m.Lag(), idle.Round(time.Second))
	}
	return nil
}

// readyz checks every output. What it returns is served to whoever reaches /readyz, so
// it names the output only ("output siem: not ready"); why (an address, a path, a
// bucket, a resolver's error) goes to the log.
func (a *liveState) readyz(ctx context.Context) error {
	a.mu.Lock()
	e, ins, outs := a.engine, a.inputs, a.outputs
	a.mu.Unlock()
	if e == nil {
		return errors.New("pipeline not running")
	}
	var errs []error
	// A webhook input is not ready while its listener is down or its spool full.
	for _, in := range ins {
		if rc, ok := in.Input.(pipeline.ReadyChecker); ok {
			if err := rc.Ready(ctx); err != nil {
				a.log.Warn("input not ready", "input", in.Name, "error", err)
				errs = append(errs, fmt.Errorf("input %s: not ready", in.Name))
			}
		}
	}
	for _, o := range outs {
		if rc, ok := o.Output.(pipeline.ReadyChecker); ok {
			if err := rc.Ready(ctx); err != nil {
				a.log.Warn("output not ready", "output", o.Name, "error", err)
				errs = append(errs, fmt.Errorf("output %s: not ready", o.Name))
			}
		}
	}
	// An input whose checkpoint cannot be saved (full or read-only data_dir) would make
	// the next restart re-ship all it delivered since: not ready. The input logs why.
	failing := a.m.CheckpointFailures()
	for _, name := range slices.Sorted(maps.Keys(failing)) {
		errs = append(errs, fmt.Errorf("input %s: checkpoint cannot be saved", name))
	}
	return errors.Join(errs...)
}

// serveHTTP starts the agent's endpoints: /metrics on http.listen, and the probes there
// too unless http.probe_listen gives them a listener of their own. The returned func
// shuts them down.
func serveHTTP(c config.HTTPConfig, m *metrics.Metrics, a *liveState, log hclog.Logger) (func(), error) {
	var servers []*httpapi.Server
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range servers {
			_ = s.Shutdown(sctx)
		}
	}
	probes := httpapi.Endpoints{Healthz: a.healthz, Readyz: a.readyz}
	served := httpapi.Endpoints{Registry: m.Registry}
	if c.ProbeListen == "" {
		served.Healthz, served.Readyz = probes.Healthz, probes.Readyz
	}
	for _, l := range []struct {
		addr, what string
		e          httpapi.Endpoints
	}{{c.Listen, "metrics", served}, {c.ProbeListen, "probes", probes}} {
		if l.addr == "" || (l.e.Registry == nil && l.e.Healthz == nil) {
			continue
		}
		srv, err := httpapi.Start(l.addr, l.e)
		if err != nil {
			stop()
			return nil, err
		}
		servers = append(servers, srv)
		log.Info("serving "+l.what, "addr", srv.Addr(), "metrics", l.e.Registry != nil, "probes", l.e.Healthz != nil)
	}
	return stop, nil
}
