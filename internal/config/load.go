package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
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
	// Rebuild the tree from every key so that environment overrides are part of it.
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

// checkShared reports outputs that would create one shared resource differently (see
// SharedResourcer): each would overwrite the other's when it starts, silently.
func checkShared(p *problems, outs []OutputComponent) {
	type owner struct{ key, what string }
	first := map[string]owner{}
	for _, o := range outs {
		r, ok := o.Config.(SharedResourcer)
		if !ok {
			continue
		}
		res := r.SharedResources()
		for _, k := range sortedKeys(res) {
			prev, seen := first[k]
			switch {
			case !seen:
				first[k] = owner{o.Key, res[k]}
			case prev.what != res[k]:
				p.add(o.Key, fmt.Errorf("%s is also created by %s, differently (%s there, %s here): each would overwrite the other's when it starts; give one of them its own name", k, prev.key, prev.what, res[k]))
			}
		}
	}
}

// section is one named entry of `inputs` or `outputs`, split into its type and the rest.
type section struct {
	name, key, typ string
	rest           map[string]any
}

// sections returns the well-formed entries of tree[kind] in name order, reporting the
// others; at least one is required.
func sections(p *problems, tree map[string]any, kind string) []section {
	m, _ := tree[kind].(map[string]any)
	if len(m) == 0 {
		p.add(kind, fmt.Errorf("at least one %s is required", strings.TrimSuffix(kind, "s")))
	}
	var out []section
	for _, name := range sortedKeys(m) {
		key := kind + "." + name
		sec, ok := m[name].(map[string]any)
		if !ok {
			p.add(key, errors.New("must be a mapping"))
			continue
		}
		if typ, rest, ok := splitType(p, key, sec); ok {
			out = append(out, section{name: name, key: key, typ: typ, rest: rest})
		}
	}
	return out
}

// envKeys adds the section's top-level keys that are set only in the environment
// (AUDITSHIP_OUTPUTS_SIEM_API_KEY_FILE=...): viper overrides only keys the file has, but
// a secret is exactly what an operator keeps out of the file.
func envKeys(sec section, target any) {
	prefix := "AUDITSHIP_" + strings.ToUpper(strings.ReplaceAll(sec.key, ".", "_")) + "_"
	t := reflect.TypeOf(target)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := range t.NumField() {
		tag := strings.Split(t.Field(i).Tag.Get("mapstructure"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		if _, inFile := sec.rest[tag]; inFile {
			continue // viper already applied any override
		}
		if v, ok := os.LookupEnv(prefix + strings.ToUpper(tag)); ok {
			sec.rest[tag] = v
		}
	}
}

func factoryFor[F any](p *problems, sec section, kind string, facs map[string]F) (F, bool) {
	fac, ok := facs[sec.typ]
	if !ok {
		p.add(sec.key+".type", fmt.Errorf("unknown %s type %q (known: %s)", kind, sec.typ, strings.Join(sortedKeys(facs), ", ")))
	}
	return fac, ok
}

func decodeFilters(p *problems, key string, raw any, f Factories) []Component {
	if raw == nil {
		return nil
	}
	list, ok := raw.([]any)
	if !ok {
		p.add(key, errors.New("must be a list of filters"))
		return nil
	}
	var out []Component
	for i, item := range list {
		fkey := fmt.Sprintf("%s[%d]", key, i)
		sec, ok := item.(map[string]any)
		if !ok {
			p.add(fkey, errors.New("must be a mapping with a type"))
			continue
		}
		sec = lowerKeys(sec)
		typ, rest, ok := splitType(p, fkey, sec)
		if !ok {
			continue
		}
		name := fmt.Sprintf("%s-%d", typ, i)
		if n, ok := rest["name"].(string); ok && n != "" {
			name = n
		}
		delete(rest, "name")
		fac, ok := f.Filters[typ]
		if !ok {
			p.add(fkey+".type", fmt.Errorf("unknown filter type %q (known: %s)", typ, strings.Join(sortedKeys(f.Filters), ", ")))
			continue
		}
		c := fac.NewConfig()
		if decodeInto(p, fkey, rest, c) {
			out = append(out, Component{Name: name, Type: typ, Key: fkey, Config: c})
		}
	}
	return out
}

// lowerKeys matches viper's key folding for maps inside lists, which viper leaves alone.
func lowerKeys(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

func splitType(p *problems, key string, sec map[string]any) (string, map[string]any, bool) {
	rest := make(map[string]any, len(sec))
	for k, v := range sec {
		rest[k] = v
	}
	typ, _ := rest["type"].(string)
	delete(rest, "type")
	if typ == "" {
		p.add(key+".type", errors.New("is required"))
		return "", nil, false
	}
	return typ, rest, true
}

// decodeInto fills target from raw, reporting unknown keys and bad values under key, then
// runs target's Validate. It reports whether target is usable.
func decodeInto(p *problems, key string, raw map[string]any, target any) bool {
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			unitsHook(),
			mapstructure.StringToSliceHookFunc(","),
		),
		Metadata:         &md,
		Result:           target,
		WeaklyTypedInput: true,
		TagName:          "mapstructure",
	})
	if err != nil {
		p.add(orTop(key), err)
		return false
	}
	before := len(p.list)
	if err := dec.Decode(raw); err != nil {
		for _, e := range flattenErrors(err) {
			var de *mapstructure.DecodeError
			switch {
			case errors.As(e, &de) && credentialKey(de.Name()):
				// The decoder's message quotes the value, which is a credential.
				p.add(join(key, de.Name()), errors.New("invalid value (not shown: the key holds a credential); want a string"))
			case errors.As(e, &de):
				p.add(join(key, de.Name()), de.Unwrap())
			default:
				p.add(orTop(key), e)
			}
		}
	}
	sort.Strings(md.Unused)
	for _, u := range md.Unused {
		p.add(join(key, u), errors.New("unknown key"))
	}
	if len(p.list) > before {
		return false
	}
	if val, ok := target.(Validator); ok {
		if err := val.Validate(); err != nil {
			p.add(orTop(key), err)
			return false
		}
	}
	if w, ok := target.(Warner); ok {
		for _, line := range w.Warnings() {
			p.warnings = append(p.warnings, RedactURLs(fmt.Sprintf("%s: %s: %s", p.file, orTop(key), line)))
		}
	}
	return true
}

// credentialKey reports whether a config key holds a credential's value itself
// (password, api_key, bearer_token, a secret or token), not where to find one (_file,
// _env).
func credentialKey(name string) bool {
	name = strings.ToLower(name[strings.LastIndexAny(name, ".[")+1:])
	if strings.HasSuffix(name, "_file") || strings.HasSuffix(name, "_env") {
		return false
	}
	for _, w := range []string{"password", "api_key", "token", "secret"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func orTop(key string) string {
	if key == "" {
		return "(top level)"
	}
	return key
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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

func flattenErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flattenErrors(e)...)
		}
		return out
	}
	return []error{err}
}
