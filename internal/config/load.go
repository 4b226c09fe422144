package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/auditship/auditship/internal/secretfile"
)

// Config is a loaded, decoded configuration.
type Config struct {
	// Path is the file it was loaded from.
	Path string `mapstructure:"-"`

	DataDir   string     `mapstructure:"data_dir"`
	LogLevel  string     `mapstructure:"log_level"`
	LogFormat string     `mapstructure:"log_format"`
	HTTP      HTTPConfig `mapstructure:"http"`
	// ResetCorruptCheckpoints lets the agent start afresh when a checkpoint file cannot be
	// decoded; without it the agent refuses to start, since a fresh start re-reads (or with
	// start_at: end, skips) everything.
	ResetCorruptCheckpoints bool `mapstructure:"reset_corrupt_checkpoints"`
	// ShutdownTimeout bounds the drain of in-flight batches on SIGTERM.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`

	Inputs  []Component       `mapstructure:"-"`
	Filters []Component       `mapstructure:"-"`
	Outputs []OutputComponent `mapstructure:"-"`

	// Warnings are what the components' checks found unsafe but allowed (see Warner),
	// each "FILE: KEY: text".
	Warnings []string `mapstructure:"-"`
}

// HTTPConfig is the metrics and health endpoint.
type HTTPConfig struct {
	// Listen is host:port; empty disables the endpoint. It serves /metrics, and the
	// probes (/healthz, /readyz) too unless ProbeListen is set.
	Listen string `mapstructure:"listen"`
	// ProbeListen, when set, is host:port for /healthz and /readyz alone, which then are
	// not served on Listen: in a pod, 127.0.0.1 with `auditship probe` as the kubelet's
	// exec probe keeps them off the network while Prometheus scrapes Listen.
	ProbeListen string `mapstructure:"probe_listen"`
	// WedgeTimeout: /healthz fails when input is pending and nothing was delivered for
	// this long, so the kubelet restarts an agent that is stuck rather than one that is idle.
	WedgeTimeout time.Duration `mapstructure:"wedge_timeout"`
}

// Component is one decoded input, filter or output section.
type Component struct {
	// Name is the map key (inputs, outputs) or the filter's name (its `name` key, else
	// TYPE-INDEX); it labels metrics.
	Name string
	Type string
	// Key is its path in the file, e.g. outputs.siem.filters[0].
	Key string
	// Config is the pointer the factory's NewConfig returned, filled from the file.
	Config any
}

// OutputComponent is an output with its own filters.
type OutputComponent struct {
	Component
	Filters []Component
}

// Problems is every problem found in a config, one per line.
type Problems []string

func (p Problems) Error() string { return strings.Join(p, "\n") }

// Defaults for keys the file may leave out.
const (
	DefaultDataDir         = "/var/lib/auditship"
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "text"
	DefaultListen          = "127.0.0.1:8686"
	DefaultShutdownTimeout = 30 * time.Second
)

// Load reads path, applies AUDITSHIP_* environment overrides (AUDITSHIP_DATA_DIR,
// AUDITSHIP_INPUTS_APISERVER_START_AT, ...), decodes every section against f and
// validates it. All problems are returned together as Problems.
func Load(path string, f Factories) (*Config, error) {
	v := viper.New()
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	v.SetEnvPrefix("AUDITSHIP")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	v.SetDefault("data_dir", DefaultDataDir)
	v.SetDefault("log_level", DefaultLogLevel)
	v.SetDefault("log_format", DefaultLogFormat)
	v.SetDefault("http.listen", DefaultListen)
	v.SetDefault("http.wedge_timeout", "5m")
	// Known to viper, so AUDITSHIP_HTTP_PROBE_LISTEN applies without the key in the file.
	v.SetDefault("http.probe_listen", "")
	v.SetDefault("reset_corrupt_checkpoints", false)
	v.SetDefault("shutdown_timeout", "30s")
	// Read under secretfile's bounds (a regular file, at most MaxConfigBytes): -c
	// /dev/zero fails at once instead of reading until memory runs out.
	data, err := secretfile.ReadConfig(path)
	if err == nil {
		err = v.ReadConfig(bytes.NewReader(data))
	}
	if err != nil {
		return nil, Problems{RedactURLs(fmt.Sprintf("%s: %v", path, err))}
	}
	if dups := caseDuplicates(data); len(dups) > 0 {
		for i, d := range dups {
			dups[i] = path + ": " + d
		}
		return nil, Problems(dups)
	}
	// The tree of every key, environment overrides included (viper applies them key by
	// key in Get). Not viper's AllSettings: it leaves out keys whose value is null, so a
	// misspelt `key:` with nothing after it would pass unreported. Viper has already
	// folded every key to lower case, inside lists too.
	tree := map[string]any{}
	for _, k := range v.AllKeys() {
		setPath(tree, strings.Split(k, "."), v.Get(k))
	}
	return decode(path, tree, f)
}

func setPath(m map[string]any, parts []string, val any) {
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = val
}

type problems struct {
	file     string
	list     Problems
	warnings []string
}

func (p *problems) add(key string, err error) {
	p.list = append(p.list, ProblemLines(p.file, key, err)...)
}

// ProblemLines formats err as problems of key in file, "FILE: KEY: text", one per line
// of err (joined errors become one line each). A value quoted by a check that did not
// redact it itself (a decode error quoting an AUDITSHIP_* override) keeps no URL userinfo.
func ProblemLines(file, key string, err error) []string {
	var out []string
	for _, line := range strings.Split(RedactURLs(err.Error()), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, fmt.Sprintf("%s: %s: %s", file, key, line))
		}
	}
	return out
}

func decode(path string, tree map[string]any, f Factories) (*Config, error) {
	p := &problems{file: path}
	cfg := &Config{Path: path}

	top := map[string]any{}
	for k, val := range tree {
		switch k {
		case "inputs", "filters", "outputs":
		default:
			top[k] = val
		}
	}
	decodeInto(p, "", top, cfg)
	switch strings.ToLower(cfg.LogLevel) {
	case "trace", "debug", "info", "warn", "error", "off":
	default:
		p.add("log_level", fmt.Errorf("unknown level %q (trace, debug, info, warn, error, off)", cfg.LogLevel))
	}
	switch cfg.LogFormat {
	case "text", "json":
	default:
		p.add("log_format", fmt.Errorf("unknown format %q (text, json)", cfg.LogFormat))
	}
	if cfg.DataDir == "" {
		p.add("data_dir", errors.New("must not be empty"))
	}
	if cfg.HTTP.ProbeListen != "" {
		if _, _, err := net.SplitHostPort(cfg.HTTP.ProbeListen); err != nil {
			p.add("http.probe_listen", err)
		} else if cfg.HTTP.ProbeListen == cfg.HTTP.Listen {
			p.add("http.probe_listen", errors.New("must differ from http.listen (leave it empty to serve the probes there)"))
		}
	}
	if cfg.HTTP.WedgeTimeout <= 0 {
		p.add("http.wedge_timeout", errors.New("must be positive"))
	}
	if cfg.ShutdownTimeout <= 0 {
		p.add("shutdown_timeout", errors.New("must be positive"))
	}

	for _, sec := range sections(p, tree, "inputs") {
		if fac, ok := factoryFor(p, sec, "input", f.Inputs); ok {
			c := fac.NewConfig()
			envKeys(sec, c)
			if decodeInto(p, sec.key, sec.rest, c) {
				cfg.Inputs = append(cfg.Inputs, Component{Name: sec.name, Type: sec.typ, Key: sec.key, Config: c})
			}
		}
	}

	cfg.Filters = decodeFilters(p, "filters", tree["filters"], f)

	for _, sec := range sections(p, tree, "outputs") {
		filters := decodeFilters(p, sec.key+".filters", sec.rest["filters"], f)
		delete(sec.rest, "filters")
		if fac, ok := factoryFor(p, sec, "output", f.Outputs); ok {
			c := fac.NewConfig()
			envKeys(sec, c)
			if decodeInto(p, sec.key, sec.rest, c) {
				cfg.Outputs = append(cfg.Outputs, OutputComponent{
					Component: Component{Name: sec.name, Type: sec.typ, Key: sec.key, Config: c},
					Filters:   filters,
				})
			}
		}
	}
	checkShared(p, cfg.Outputs)
	if len(p.list) > 0 {
		return nil, p.list
	}
	cfg.Warnings = p.warnings
	return cfg, nil
}

// ResolvePath makes a relative path from the config absolute against the working
// directory, where the operator ran the command, as Vector and Filebeat do.
func ResolvePath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return abs
}
