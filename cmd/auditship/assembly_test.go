package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/auditship/auditship/internal/agent"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// assemblyConfig has a filter of every type, global and per output.
const assemblyConfig = `data_dir: %DIR%/data
http: {listen: ""}
inputs:
  audit:
    type: file
    paths: [%DIR%/audit.log]
filters:
  - type: drop
    when: 'verb == "watch"'
  - type: redact
    preset: kubernetes-secrets
    when: 'verb != "get"'
  - type: audit_policy
    policy: |
      apiVersion: audit.k8s.io/v1
      kind: Policy
      rules:
      - level: Metadata
outputs:
  out:
    type: file
    path: %DIR%/out.ndjson
    filters:
      - type: keep
        when: 'verb == "create"'
`

// assemblyFilters is how many filters assemblyConfig has.
const assemblyFilters = 4

// buildCounter wraps every filter factory of the default list, counting the filters each
// key of the config was created as.
type buildCounter struct {
	mu     sync.Mutex
	builds map[string]int
}

func (c *buildCounter) factories() config.Factories {
	f := agent.Factories()
	for typ, fac := range f.Filters {
		create := fac.Create
		fac.Create = func(cfg any, set config.Settings) (pipeline.Filter, error) {
			c.mu.Lock()
			c.builds[set.Name]++
			c.mu.Unlock()
			return create(cfg, set)
		}
		f.Filters[typ] = fac
	}
	return f
}

// perFilter returns the builds of each filter, failing unless every filter was built
// equally often.
func (c *buildCounter) perFilter(t *testing.T) int {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.builds) != assemblyFilters {
		t.Fatalf("filters built: %v, want all %d", c.builds, assemblyFilters)
	}
	n := -1
	for name, b := range c.builds {
		if n >= 0 && b != n {
			t.Fatalf("filter %s built %d times, others %d: %v", name, b, n, c.builds)
		}
		n = b
	}
	return n
}

// TestFiltersBuiltOncePerStart: validate, test, run and every reload create each filter
// once (its expression was compiled once, at load, by its Validate: see the drop and
// redact tests). A reload builds the new config's filters to check it and starts the
// new pipeline with those same filters.
func TestFiltersBuiltOncePerStart(t *testing.T) {
	oneShot := []struct {
		name string
		args []string
	}{
		{"validate", []string{"validate"}},
		{"test", []string{"test", "--output", "out"}},
		{"run --once", []string{"run", "--once"}},
	}
	for _, tt := range oneShot {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := writeConfig(t, dir, assemblyConfig)
			writeFile(t, dir, "audit.log", auditLine("a1", "create", "pods"))
			c := &buildCounter{builds: map[string]int{}}
			var stdout, stderr bytes.Buffer
			args := append(tt.args, "-c", p)
			if code := executeWith(c.factories(), args, strings.NewReader(auditLine("a2", "create", "pods")), &stdout, &stderr); code != 0 {
				t.Fatalf("%v: exit %d\n%s", args, code, stderr.String())
			}
			if n := c.perFilter(t); n != 1 {
				t.Fatalf("%s built each filter %d times, want 1", tt.name, n)
			}
		})
	}
	t.Run("run and reload", func(t *testing.T) {
		dir := t.TempDir()
		p := writeConfig(t, dir, assemblyConfig)
		writeFile(t, dir, "audit.log", auditLine("a1", "create", "pods"))
		c := &buildCounter{builds: map[string]int{}}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		reload := make(chan os.Signal, 1)
		stderr := &syncBuf{}
		done := make(chan error, 1)
		go func() { done <- runWith(ctx, c.factories(), p, false, reload, stderr) }()
		started := func(n int) func() bool {
			return func() bool { return strings.Count(stderr.String(), "pipeline started") == n }
		}
		waitFor(t, "the pipeline", started(1))
		if n := c.perFilter(t); n != 1 {
			t.Fatalf("start built each filter %d times, want 1", n)
		}
		reload <- os.Interrupt
		waitFor(t, "the reloaded pipeline", started(2))
		if n := c.perFilter(t); n != 2 {
			t.Fatalf("start and one reload built each filter %d times, want 2", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("agent: %v\n%s", err, stderr.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "out.ndjson")); err != nil {
			t.Fatal(err)
		}
	})
	// A reload whose new input cannot start (its checkpoint is corrupt) restarts the
	// running configuration with the filters it has.
	t.Run("reload whose inputs cannot start", func(t *testing.T) {
		dir := t.TempDir()
		p := writeConfig(t, dir, assemblyConfig)
		writeFile(t, dir, "audit.log", auditLine("a1", "create", "pods"))
		c := &buildCounter{builds: map[string]int{}}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stderr := &syncBuf{}
		done := make(chan error, 1)
		go func() { done <- runWith(ctx, c.factories(), p, false, nil, stderr) }()
		waitFor(t, "the pipeline", func() bool { return strings.Count(stderr.String(), "pipeline started") == 1 })
		mustMkdir(t, filepath.Join(dir, "data", "inputs"))
		writeFile(t, filepath.Join(dir, "data", "inputs"), "extra.json", "{not json")
		// The file watcher reloads it (once: the file changes once).
		writeConfig(t, dir, strings.Replace(assemblyConfig, "inputs:\n", "inputs:\n  extra:\n    type: file\n    paths: [%DIR%/other.log]\n", 1))
		waitFor(t, "the previous configuration to restart", func() bool {
			s := stderr.String()
			return strings.Contains(s, "restarting the previous configuration") && strings.Count(s, "pipeline started") == 2
		})
		if n := c.perFilter(t); n != 2 {
			t.Fatalf("start, a reload that could not start and the restart built each filter %d times, want 2", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("agent: %v\n%s", err, stderr.String())
		}
	})
}
