package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/pipeline"
)

type testInput struct {
	Path  string `mapstructure:"path"`
	Limit int    `mapstructure:"limit"`
}

type testFilter struct {
	When string   `mapstructure:"when"`
	Tags []string `mapstructure:"tags"`
}

type testOutput struct {
	URL    string   `mapstructure:"url"`
	APIKey Secret   `mapstructure:"api_key"`
	Size   ByteSize `mapstructure:"size"`
}

func testFactories() Factories {
	return Factories{
		Inputs:  map[string]InputFactory{"in": {Type: "in", NewConfig: func() any { return &testInput{Limit: 7} }}},
		Filters: map[string]FilterFactory{"flt": {Type: "flt", NewConfig: func() any { return &testFilter{} }}},
		Outputs: map[string]OutputFactory{"out": NewOutputFactory("out", func() *testOutput { return &testOutput{} },
			func(*testOutput, Settings) (pipeline.Output, pipeline.OutputOptions, error) {
				return nil, pipeline.OutputOptions{}, nil
			})},
	}
}

// loaded is what a test compares of a loaded config.
type loaded struct {
	DataDir, LogLevel string
	Wedge             time.Duration
	Inputs            map[string]testInput
	Filters           []string // name: when
	Outputs           map[string]testOutput
	OutputFilters     map[string][]string
}

func summarize(cfg *Config) loaded {
	l := loaded{DataDir: cfg.DataDir, LogLevel: cfg.LogLevel, Wedge: cfg.HTTP.WedgeTimeout,
		Inputs: map[string]testInput{}, Outputs: map[string]testOutput{}, OutputFilters: map[string][]string{}}
	for _, in := range cfg.Inputs {
		l.Inputs[in.Name] = *in.Config.(*testInput)
	}
	flt := func(cs []Component) []string {
		var out []string
		for _, c := range cs {
			f := c.Config.(*testFilter)
			out = append(out, c.Name+": "+f.When+" "+strings.Join(f.Tags, "+"))
		}
		return out
	}
	l.Filters = flt(cfg.Filters)
	for _, o := range cfg.Outputs {
		l.Outputs[o.Name] = *o.Config.(*testOutput)
		l.OutputFilters[o.Name] = flt(o.Filters)
	}
	return l
}

// TestLoadKeysAndEnvironment: keys match whatever their case, in sections and in the
// filter lists inside them; AUDITSHIP_* overrides keys the file has and adds the keys a
// section leaves to the environment; defaults fill the rest; a problem is reported by
// key, null or not.
func TestLoadKeysAndEnvironment(t *testing.T) {
	const base = "inputs:\n  a:\n    type: in\n    path: /a\noutputs:\n  o:\n    type: out\n    url: http://o\n"
	tests := []struct {
		name     string
		yaml     string
		env      map[string]string
		want     func(l *loaded)
		problems []string
	}{
		{name: "defaults", yaml: base, want: func(l *loaded) {}},
		{
			name: "mixed case keys",
			yaml: "Data_Dir: /d\nINPUTS:\n  A:\n    Type: in\n    PATH: /a\nFilters:\n  - Type: flt\n    WHEN: x\n    Name: First\n    TAGS: [A, b]\n" +
				"outputs:\n  o:\n    TYPE: out\n    Url: http://o\n    Filters:\n      - {TYPE: flt, When: y}\n",
			want: func(l *loaded) {
				l.DataDir = "/d"
				l.Filters = []string{"First: x A+b"}
				l.OutputFilters["o"] = []string{"flt-0: y "}
			},
		},
		{
			name: "environment overrides and env-only keys",
			yaml: base + "filters:\n  - type: flt\n    when: x\n",
			env: map[string]string{
				"AUDITSHIP_DATA_DIR": "/env", "AUDITSHIP_HTTP_WEDGE_TIMEOUT": "1m",
				"AUDITSHIP_INPUTS_A_PATH": "/env-a", "AUDITSHIP_INPUTS_A_LIMIT": "9",
				"AUDITSHIP_OUTPUTS_O_API_KEY": "k", "AUDITSHIP_OUTPUTS_O_SIZE": "2KiB",
			},
			want: func(l *loaded) {
				l.DataDir, l.Wedge = "/env", time.Minute
				l.Inputs["a"] = testInput{Path: "/env-a", Limit: 9}
				l.Filters = []string{"flt-0: x "}
				l.Outputs["o"] = testOutput{URL: "http://o", APIKey: "k", Size: 2048}
			},
		},
		{name: "unknown key", yaml: base + "bogus: 1\n", problems: []string{"bogus: unknown key"}},
		{name: "unknown null key", yaml: base + "bogus:\n", problems: []string{"bogus: unknown key"}},
		{name: "unknown section key", yaml: strings.Replace(base, "path: /a", "path: /a\n    Extra: 1", 1), problems: []string{"inputs.a.extra: unknown key"}},
		{name: "unknown filter key", yaml: base + "filters:\n  - {type: flt, when: x, Other: 1}\n", problems: []string{"filters[0].other: unknown key"}},
		{name: "filter list not a list", yaml: base + "filters: {type: flt}\n", problems: []string{"filters: must be a list of filters"}},
		{name: "missing type", yaml: base + "filters:\n  - {when: x}\n", problems: []string{"filters[0].type: is required"}},
		{name: "unknown type", yaml: strings.Replace(base, "type: out", "type: nope", 1), problems: []string{`outputs.o.type: unknown output type "nope" (known: out)`}},
		{name: "bad level", yaml: base + "log_level: loud\n", problems: []string{`log_level: unknown level "loud"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			p := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(p, testFactories())
			if len(tt.problems) > 0 {
				if err == nil {
					t.Fatal("loaded, want problems")
				}
				for _, want := range tt.problems {
					if !strings.Contains(err.Error(), p+": "+want) {
						t.Errorf("problems:\n%v\nwant one containing %q", err, p+": "+want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := loaded{DataDir: DefaultDataDir, LogLevel: DefaultLogLevel, Wedge: 5 * time.Minute,
				Inputs: map[string]testInput{"a": {Path: "/a", Limit: 7}}, Outputs: map[string]testOutput{"o": {URL: "http://o"}},
				OutputFilters: map[string][]string{"o": nil}}
			tt.want(&want)
			if got := summarize(cfg); !reflect.DeepEqual(got, want) {
				t.Fatalf("loaded\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}
