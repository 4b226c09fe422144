package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"

	fileinput "github.com/auditship/auditship/inputs/file"
	"github.com/auditship/auditship/internal/agent"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/secretfile"
	"github.com/auditship/auditship/metrics"
)

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

// tryReload loads path and builds its filters with env, for the running agent to switch
// to. It returns nil (logged) when the config is invalid, when its filters cannot be
// created or its outputs could not be (Assembly.Check), or when it moves data_dir, which
// the running agent holds locked: the running pipeline then keeps going on the old one.
func tryReload(path string, f config.Factories, env agent.Env, dataDir string) *agent.Assembly {
	a, err := reloadable(path, f, env, dataDir)
	if err != nil {
		env.Logger.Error("new configuration is invalid; keeping the running one", "error", config.RedactURLs(err.Error()))
		return nil
	}
	return a
}

func reloadable(path string, f config.Factories, env agent.Env, dataDir string) (*agent.Assembly, error) {
	cfg, err := agent.Load(path, f)
	if err != nil {
		return nil, err
	}
	a, err := agent.Build(cfg, f, env)
	if err != nil {
		return nil, err
	}
	if err := a.Check(); err != nil {
		return nil, err
	}
	if dir := config.ResolvePath(cfg.DataDir); dir != dataDir {
		return nil, fmt.Errorf("data_dir cannot change on reload (%s to %s): the checkpoints and the lock are in the old one; restart the agent to move it", dataDir, dir)
	}
	return a, nil
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
