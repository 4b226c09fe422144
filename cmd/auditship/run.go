package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/auditship/auditship/internal/agent"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/datadir"
	"github.com/auditship/auditship/internal/gctune"
	"github.com/auditship/auditship/internal/safefile"
	"github.com/auditship/auditship/metrics"
	"github.com/auditship/auditship/pipeline"
)

func newRunCmd(f config.Factories) *cobra.Command {
	var path string
	var once bool
	var cpuProfile string
	cmd := &cobra.Command{
		Use:   "run -c FILE [--once]",
		Short: "Run the agent until SIGINT/SIGTERM (or, with --once, until every input is read and delivered)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			if cpuProfile != "" {
				stopProfile, err := startCPUProfile(cpuProfile)
				if err != nil {
					return usageErr(err)
				}
				defer stopProfile()
			}
			return runWith(ctx, f, path, once, hup, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "", "config file (YAML)")
	cmd.Flags().BoolVar(&once, "once", false, "read every input to its end, deliver, checkpoint and exit")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file until exit")
	return cmd
}

// startCPUProfile profiles the process into path (0600: a profile names no event content,
// but it is the agent's file all the same) until the returned func is called.
func startCPUProfile(path string) (func(), error) {
	f, err := safefile.OpenTruncate(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpuprofile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// runAgent runs the config at path with the default component list until ctx ends (or,
// once, until every input is read and delivered), reloading it on reload or when the
// file changes.
func runAgent(ctx context.Context, path string, once bool, reload <-chan os.Signal, stderr io.Writer) error {
	return runWith(ctx, agent.Factories(), path, once, reload, stderr)
}

// runWith is runAgent with the component types f.
func runWith(ctx context.Context, f config.Factories, path string, once bool, reload <-chan os.Signal, stderr io.Writer) error {
	cfg, err := loadConfig(path, f)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	logWarnings(cfg, stderr)
	// Without GOGC set, collect at a heap budget rather than at every doubling of a small
	// heap (see internal/gctune).
	defer gctune.Auto(os.Getenv)()
	m := metrics.New()
	// One agent per data_dir, and only on one where checkpoints can be saved.
	claim, err := datadir.Acquire(config.ResolvePath(cfg.DataDir))
	if err != nil {
		return err
	}
	defer claim.Release()
	r := &runner{
		path: path, f: f, env: agent.Env{Logger: log, Metrics: m, Once: once}, m: m, stderr: stderr, dataDir: claim.Dir,
		live: &liveState{m: m, wedge: cfg.HTTP.WedgeTimeout, log: log}, reload: reload,
		// What healthy outputs delivered of the batches a reload left unacknowledged (an
		// output down for longer than shutdown_timeout): the next pipeline reads those
		// batches again and must not send them to those outputs a second time.
		delivered: pipeline.NewDelivered(),
	}
	stopHTTP, err := serveHTTP(cfg.HTTP, m, r.live, log)
	if err != nil {
		return err
	}
	defer stopHTTP()

	r.changed = watchFile(ctx, path, 2*time.Second)
	r.start = time.Now()
	warnUnreadCheckpoints(cfg, claim.Dir, log)
	m.Declare(componentNames(cfg))
	a, err := agent.Build(cfg, f, r.env)
	if err != nil {
		return usageErr(err)
	}
	parts, err := a.Start()
	if err != nil {
		return err
	}
	return r.loop(ctx, a, parts)
}

// runner is the running agent: its pipeline, replaced on every reload.
type runner struct {
	path      string
	f         config.Factories
	env       agent.Env
	m         *metrics.Metrics
	stderr    io.Writer
	dataDir   string
	live      *liveState
	reload    <-chan os.Signal
	changed   <-chan struct{}
	start     time.Time
	delivered *pipeline.Delivered
}

// loop runs a's pipeline until it ends, switching to a new assembly on every reload
// that can be started.
func (r *runner) loop(ctx context.Context, a *agent.Assembly, parts *agent.Parts) error {
	log := r.env.Logger
	for {
		eng := pipeline.New(pipeline.Config{
			Inputs: parts.Inputs, Filters: parts.Filters, Outputs: parts.Outputs,
			Logger: log, Observer: r.m, DrainTimeout: a.Config.ShutdownTimeout, Delivered: r.delivered,
		})
		r.live.set(eng, parts.Inputs, parts.Outputs)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- eng.Run(runCtx, r.env.Once) }()
		log.Info("pipeline started", "inputs", len(parts.Inputs), "filters", len(parts.Filters), "outputs", len(parts.Outputs))

		next, nextParts, err := r.nextAssembly(done)
		if next == nil {
			cancel()
			r.live.set(nil, nil, nil)
			if err != nil {
				return err
			}
			if r.env.Once {
				printSummary(r.stderr, r.m, time.Since(r.start))
			}
			log.Info("stopped; checkpoints written")
			return nil
		}
		// Drain and checkpoint the running pipeline, then start the new one's inputs from
		// the checkpoints: nothing is lost, and nothing is shipped twice.
		log.Info("reloading configuration")
		cancel()
		if err := <-done; err != nil {
			// A final checkpoint that could not be written: the new inputs resume from
			// the last one saved (events may repeat, none are lost); readiness says so.
			log.Error("stopping the running pipeline", "error", err)
		}
		r.live.set(nil, nil, nil)
		if err := next.StartInputs(nextParts); err != nil {
			log.Error("new configuration's inputs cannot be started; restarting the previous configuration", "error", err)
			r.m.ConfigReload(false)
			if parts, err = a.Start(); err != nil {
				return fmt.Errorf("a reload failed and the previous configuration cannot be restarted: %w", err)
			}
			continue
		}
		r.switched(a.Config, next.Config)
		a, parts = next, nextParts
	}
}

// nextAssembly waits for the running pipeline to end (nil, nil and how it ended) or for
// a reload whose config is valid and whose outputs could be created (its assembly and
// those outputs). A reload that fails is logged and counted, and the running pipeline
// goes on.
func (r *runner) nextAssembly(done <-chan error) (*agent.Assembly, *agent.Parts, error) {
	for {
		select {
		case err := <-done:
			return nil, nil, err
		case <-r.reload:
		case <-r.changed:
		}
		next := tryReload(r.path, r.f, r.env, r.dataDir)
		if next == nil {
			r.m.ConfigReload(false)
			continue
		}
		// What a valid config can still fail on when started (an empty api_key_file,
		// a CA file without a certificate, an output path that is a directory) is in
		// its outputs: create them while the running pipeline goes on, and keep that
		// one when they fail.
		parts, err := next.StartOutputs()
		if err != nil {
			r.env.Logger.Error("new configuration cannot be started; keeping the running one", "error", err)
			r.m.ConfigReload(false)
			continue
		}
		return next, parts, nil
	}
}

// switched accounts for a reload from old to next that started.
func (r *runner) switched(old, next *config.Config) {
	log := r.env.Logger
	forgetRemovedInputs(old, next, r.m, log)
	r.m.Declare(componentNames(next))
	// An output removed, or now delivering elsewhere, gets everything again.
	r.delivered.Retain(func(name string) bool { return sameOutput(old, next, name) })
	if n := r.delivered.Len(); n > 0 {
		log.Info("events already delivered by some outputs will not be sent to them again", "events", n)
	}
	r.m.ConfigReload(true)
	log.SetLevel(hclog.LevelFromString(next.LogLevel))
	logWarnings(next, r.stderr)
}
