package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"runtime/pprof"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	fileinput "github.com/auditship/auditship/inputs/file"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/datadir"
	"github.com/auditship/auditship/internal/gctune"
	"github.com/auditship/auditship/internal/httpapi"
	"github.com/auditship/auditship/internal/safefile"
	"github.com/auditship/auditship/internal/secretfile"
	"github.com/auditship/auditship/metrics"
	"github.com/auditship/auditship/pipeline"
)

func newRunCmd() *cobra.Command {
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
			return runAgent(ctx, path, once, hup, cmd.ErrOrStderr())
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

// agent is the running state the HTTP probes look at across reloads.
type agent struct {
	mu      sync.Mutex
	engine  *pipeline.Engine
	inputs  []pipeline.InputSpec
	outputs []pipeline.OutputSpec
	m       *metrics.Metrics
	wedge   time.Duration
	log     hclog.Logger
}

func (a *agent) set(e *pipeline.Engine, ins []pipeline.InputSpec, outs []pipeline.OutputSpec) {
	a.mu.Lock()
	a.engine, a.inputs, a.outputs = e, ins, outs
	a.mu.Unlock()
}

func (a *agent) healthz(context.Context) error {
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
func (a *agent) readyz(ctx context.Context) error {
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

func runAgent(ctx context.Context, path string, once bool, reload <-chan os.Signal, stderr io.Writer) error {
	f := factories()
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
	a := &agent{m: m, wedge: cfg.HTTP.WedgeTimeout, log: log}
	stopHTTP, err := serveHTTP(cfg.HTTP, m, a, log)
	if err != nil {
		return err
	}
	defer stopHTTP()

	changed := watchFile(ctx, path, 2*time.Second)
	start := time.Now()
	warnUnreadCheckpoints(cfg, claim.Dir, log)
	m.Declare(componentNames(cfg))
	parts, err := buildPipeline(cfg, f, baseSettings(cfg, log, m, once))
	if err != nil {
		return err
	}
	// What healthy outputs delivered of the batches a reload left unacknowledged (an
	// output down for longer than shutdown_timeout): the next pipeline reads those
	// batches again and must not send them to those outputs a second time.
	delivered := pipeline.NewDelivered()
	for {
		eng := pipeline.New(pipeline.Config{
			Inputs: parts.inputs, Filters: parts.filters, Outputs: parts.outputs,
			Logger: log, Observer: m, DrainTimeout: cfg.ShutdownTimeout, Delivered: delivered,
		})
		a.set(eng, parts.inputs, parts.outputs)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- eng.Run(runCtx, once) }()
		log.Info("pipeline started", "inputs", len(parts.inputs), "filters", len(parts.filters), "outputs", len(parts.outputs))

		var next *config.Config
		var nextParts *pipelineParts
		for nextParts == nil {
			select {
			case err := <-done:
				cancel()
				a.set(nil, nil, nil)
				if err != nil {
					return err
				}
				if once {
					printSummary(stderr, m, time.Since(start))
				}
				log.Info("stopped; checkpoints written")
				return nil
			case <-reload:
			case <-changed:
			}
			if next = tryReload(path, f, log, claim.Dir); next == nil {
				m.ConfigReload(false)
				continue
			}
			// What a valid config can still fail on when started (an empty api_key_file,
			// a CA file without a certificate, an output path that is a directory) is in
			// its filters and outputs: build them while the running pipeline goes on, and
			// keep that one when they fail.
			nextParts, err = buildOutputs(next, f, baseSettings(next, log, m, once))
			if err != nil {
				log.Error("new configuration cannot be started; keeping the running one", "error", err)
				m.ConfigReload(false)
			}
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
		a.set(nil, nil, nil)
		if err := buildInputs(next, f, baseSettings(next, log, m, once), nextParts); err != nil {
			log.Error("new configuration's inputs cannot be started; restarting the previous configuration", "error", err)
			m.ConfigReload(false)
			if parts, err = buildPipeline(cfg, f, baseSettings(cfg, log, m, once)); err != nil {
				return fmt.Errorf("a reload failed and the previous configuration cannot be restarted: %w", err)
			}
			continue
		}
		forgetRemovedInputs(cfg, next, m, log)
		m.Declare(componentNames(next))
		// An output removed, or now delivering elsewhere, gets everything again.
		delivered.Retain(func(name string) bool { return sameOutput(cfg, next, name) })
		if n := delivered.Len(); n > 0 {
			log.Info("events already delivered by some outputs will not be sent to them again", "events", n)
		}
		m.ConfigReload(true)
		cfg, parts = next, nextParts
		log.SetLevel(hclog.LevelFromString(cfg.LogLevel))
		logWarnings(cfg, stderr)
	}
}

// sameOutput reports whether output name has the same type and settings in both configs.
func sameOutput(old, next *config.Config, name string) bool {
	find := func(c *config.Config) *config.OutputComponent {
		for i := range c.Outputs {
			if c.Outputs[i].Name == name {
				return &c.Outputs[i]
			}
		}
		return nil
	}
	a, b := find(old), find(next)
	return a != nil && b != nil && a.Type == b.Type && reflect.DeepEqual(a.Config, b.Config)
}

// warnUnreadCheckpoints names the checkpoints in data_dir of inputs the config does not
// have (renamed or removed while the agent was stopped): what their files still hold is
// not read unless an input of that name comes back.
func warnUnreadCheckpoints(cfg *config.Config, dataDir string, log hclog.Logger) {
	names, err := fileinput.CheckpointNames(dataDir)
	if err != nil {
		log.Warn("cannot list the checkpoints in data_dir", "error", err)
		return
	}
	for _, name := range names {
		if !slices.ContainsFunc(cfg.Inputs, func(c config.Component) bool { return c.Name == name }) {
			log.Warn("data_dir holds the checkpoint of an input this configuration does not have (renamed or removed?); its files are not read under that name",
				"input", name, "path", filepath.Join(dataDir, "inputs", name+".json"))
		}
	}
}

// forgetRemovedInputs accounts for the inputs a reload removed (or renamed): what they
// had not delivered stays unread unless the input comes back under its name, so it is
// warned about and counted (auditship_bytes_orphaned_total), and their lag is dropped
// from the total the probes read.
func forgetRemovedInputs(old, next *config.Config, m *metrics.Metrics, log hclog.Logger) {
	kept := map[string]bool{}
	for _, in := range next.Inputs {
		kept[in.Name] = true
	}
	for _, in := range old.Inputs {
		if kept[in.Name] {
			continue
		}
		if lag := m.InputLag(in.Name); lag > 0 {
			log.Warn("a reload removed an input with bytes not yet delivered; they stay unread unless an input of that name comes back (its checkpoint is kept)",
				"input", in.Name, "bytes", lag)
			m.InputOrphaned(in.Name, lag)
		}
		m.ForgetInput(in.Name)
	}
}

// serveHTTP starts the agent's endpoints: /metrics on http.listen, and the probes there
// too unless http.probe_listen gives them a listener of their own. The returned func
// shuts them down.
func serveHTTP(c config.HTTPConfig, m *metrics.Metrics, a *agent, log hclog.Logger) (func(), error) {
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

// logWarnings logs what the config's checks found unsafe but allowed (certificate
// verification off, credentials over http://, credential files others can read) at
// ERROR, whatever log_level says, even off: an operator who turned logging down must
// still be told.
func logWarnings(cfg *config.Config, w io.Writer) {
	if len(cfg.Warnings) == 0 {
		return
	}
	log := newLoggerAt(cfg, w, hclog.Error)
	for _, line := range cfg.Warnings {
		log.Error("insecure configuration", "warning", line)
	}
}

// componentNames lists cfg's inputs, filters (global and per-output) and outputs, whose
// series are exported at 0 before anything is counted.
func componentNames(cfg *config.Config) metrics.Components {
	var c metrics.Components
	for _, in := range cfg.Inputs {
		c.Inputs = append(c.Inputs, in.Name)
	}
	for _, f := range cfg.Filters {
		c.Filters = append(c.Filters, f.Name)
	}
	for _, o := range cfg.Outputs {
		c.Outputs = append(c.Outputs, o.Name)
		for _, f := range o.Filters {
			c.Filters = append(c.Filters, f.Name)
		}
	}
	return c
}

// tryReload returns the new config, or nil (logged) when it is invalid, when its outputs
// could not be created (checkOutputs), or when it moves data_dir, which the running
// agent holds locked: the running pipeline then keeps going on the old one.
func tryReload(path string, f config.Factories, log hclog.Logger, dataDir string) *config.Config {
	m := metrics.New()
	cfg, _, _, err := checkConfig(path, f, m)
	if err == nil {
		err = checkOutputs(cfg, f, m)
	}
	if err == nil && config.ResolvePath(cfg.DataDir) != dataDir {
		err = fmt.Errorf("data_dir cannot change on reload (%s to %s): the checkpoints and the lock are in the old one; restart the agent to move it", dataDir, config.ResolvePath(cfg.DataDir))
	}
	if err != nil {
		log.Error("new configuration is invalid; keeping the running one", "error", config.RedactURLs(err.Error()))
		return nil
	}
	return cfg
}

// watchFile signals when path's content changes (ConfigMap updates swap a symlink, so
// polling content is more robust than watching the inode).
func watchFile(ctx context.Context, path string, every time.Duration) <-chan struct{} {
	ch := make(chan struct{}, 1)
	sum := func() []byte {
		data, err := secretfile.ReadConfig(path)
		if err != nil {
			return nil
		}
		h := sha256.Sum256(data)
		return h[:]
	}
	last := sum()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if cur := sum(); cur != nil && !bytes.Equal(cur, last) {
					last = cur
					select {
					case ch <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	return ch
}

// printSummary writes what a --once run did. "shipped" counts events each output
// delivered, never those it dead-lettered (listed apart); lines skipped for exceeding
// max_line_bytes are counted apart from invalid lines, and warned about, since neither
// reached any output.
func printSummary(w io.Writer, m *metrics.Metrics, d time.Duration) {
	read := m.Sum("events_read/")
	bytesIn := m.Sum("bytes_read/")
	skipped := m.Sum("lines_skipped/")
	fmt.Fprintf(w, "auditship: read %d events (%s) in %s; invalid %d, skipped over max_line_bytes %d, dropped %d, fields redacted %d, filter errors %d\n",
		read, config.HumanBytes(bytesIn), d.Round(time.Millisecond), m.Sum("events_invalid/"), skipped, m.Sum("dropped/"), m.Sum("redacted/"), m.Sum("filter_errors/"))
	for _, kv := range m.Totals("shipped/") {
		fmt.Fprintf(w, "auditship: output %s: shipped %d events, %d dead-lettered, %d retries\n",
			kv.Key, kv.Value, m.Total("dead_lettered/"+kv.Key), m.Total("retries/"+kv.Key))
	}
	if skipped > 0 {
		fmt.Fprintf(w, "auditship: WARNING %d lines longer than max_line_bytes were skipped, not shipped\n", skipped)
	}
	if lost := m.Sum("bytes_lost/"); lost > 0 {
		fmt.Fprintf(w, "auditship: WARNING lost %s (about %d events): rotated or deleted away, cut, or unreadable before they could be read (paths in the log)\n",
			config.HumanBytes(lost), m.Sum("events_lost/"))
	}
	if n := m.Sum("files_vanished/"); n > 0 {
		fmt.Fprintf(w, "auditship: WARNING %d live files vanished (rotated or deleted away while the agent was down, found nowhere): lines written to them after they were last read are lost, how many is unknown (paths in the log)\n", n)
	}
	if nuls := m.Sum("nul_bytes_skipped/"); nuls > 0 {
		fmt.Fprintf(w, "auditship: skipped %s of NUL bytes between lines\n", config.HumanBytes(nuls))
	}
}
