package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/pipeline"
)

// squashedDelivery is a block an output squashes into its config (as delivery.Delivery
// is), itself squashing another (as delivery.Config squashes DeadLetters).
type squashedDelivery struct {
	BatchMaxEvents int           `mapstructure:"batch_max_events"`
	FlushInterval  time.Duration `mapstructure:"flush_interval"`
	squashedPath   `mapstructure:",squash"`
}

type squashedPath struct {
	DeadLetterPath string `mapstructure:"dead_letter_path"`
}

type squashingOutput struct {
	URL              string `mapstructure:"url"`
	Password         Secret `mapstructure:"password"`
	squashedDelivery `mapstructure:",squash"`
}

// nestedBlocks has blocks of keys under a key of their own, as tls, sasl and aws_sigv4 are.
type nestedBlocks struct {
	URL  string        `mapstructure:"url"`
	TLS  nestedTLS     `mapstructure:"tls"`
	SASL *nestedSASL   `mapstructure:"sasl"`
	Wait time.Duration `mapstructure:"wait"`
}

type nestedTLS struct {
	CAFile     string `mapstructure:"ca_file"`
	ServerName string `mapstructure:"server_name"`
}

type nestedSASL struct {
	Password Secret `mapstructure:"password"`
}

// TestEnvOnlyKeysOfSquashedBlocks: a key set only in the environment applies whether the
// output declares it itself or through a squashed block (the shared delivery keys): the
// redesign moved elasticsearch's batch, retry and dead_letter_path keys into such a block,
// and AUDITSHIP_OUTPUTS_SIEM_BATCH_MAX_EVENTS was then silently ignored.
func TestEnvOnlyKeysOfSquashedBlocks(t *testing.T) {
	f := outputFactories(func() *squashingOutput {
		return &squashingOutput{squashedDelivery: squashedDelivery{BatchMaxEvents: 1000, FlushInterval: time.Second}}
	})
	cfg, err := loadWith(t, f, map[string]string{
		"AUDITSHIP_OUTPUTS_O_PASSWORD":         "p",
		"AUDITSHIP_OUTPUTS_O_BATCH_MAX_EVENTS": "7",
		"AUDITSHIP_OUTPUTS_O_FLUSH_INTERVAL":   "3s",
		"AUDITSHIP_OUTPUTS_O_DEAD_LETTER_PATH": "/env/dlq.ndjson",
	}, "    url: http://o\n")
	if err != nil {
		t.Fatal(err)
	}
	got := *cfg.Outputs[0].Config.(*squashingOutput)
	want := squashingOutput{URL: "http://o", Password: "p", squashedDelivery: squashedDelivery{
		BatchMaxEvents: 7, FlushInterval: 3 * time.Second, squashedPath: squashedPath{DeadLetterPath: "/env/dlq.ndjson"}}}
	if got != want {
		t.Errorf("loaded %+v, want %+v", got, want)
	}
}

// TestEnvOnlyKeysOfNestedBlocks: a key of a nested block set only in the environment
// (AUDITSHIP_OUTPUTS_O_SASL_PASSWORD) applies, whether the file has the block or not, and
// an override of a key the file has still wins; a block the file gives as a scalar is
// left for decoding to report.
func TestEnvOnlyKeysOfNestedBlocks(t *testing.T) {
	f := outputFactories(func() *nestedBlocks { return &nestedBlocks{} })
	env := map[string]string{
		"AUDITSHIP_OUTPUTS_O_TLS_CA_FILE":     "/env/ca.pem",
		"AUDITSHIP_OUTPUTS_O_TLS_SERVER_NAME": "env.example",
		"AUDITSHIP_OUTPUTS_O_SASL_PASSWORD":   "p",
		"AUDITSHIP_OUTPUTS_O_WAIT":            "2s",
	}
	want := nestedBlocks{URL: "http://o", TLS: nestedTLS{CAFile: "/env/ca.pem", ServerName: "env.example"},
		SASL: &nestedSASL{Password: "p"}, Wait: 2 * time.Second}
	for name, out := range map[string]string{
		"blocks absent":        "    url: http://o\n",
		"blocks in the file":   "    url: http://o\n    tls: {ca_file: /file/ca.pem}\n    sasl: {}\n",
		"other keys of blocks": "    url: http://o\n    tls: {server_name: file.example}\n",
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := loadWith(t, f, env, out)
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Outputs[0].Config.(*nestedBlocks)
			if got.URL != want.URL || got.TLS != want.TLS || got.SASL == nil || *got.SASL != *want.SASL || got.Wait != want.Wait {
				t.Errorf("loaded %+v (sasl %+v), want %+v (sasl %+v)", *got, got.SASL, want, *want.SASL)
			}
		})
	}
	if _, err := loadWith(t, f, env, "    url: http://o\n    tls: yes\n"); err == nil || !strings.Contains(err.Error(), "outputs.o") {
		t.Errorf("tls given as a scalar: Load = %v, want a problem", err)
	}
}

// TestEnvOnlyTopLevelKeys: every key of the top-level sections applies from the
// environment alone, http.probe_listen (no default of its own) included.
func TestEnvOnlyTopLevelKeys(t *testing.T) {
	cfg, err := loadWith(t, testFactories(), map[string]string{
		"AUDITSHIP_HTTP_PROBE_LISTEN": "127.0.0.1:8687", "AUDITSHIP_SHUTDOWN_TIMEOUT": "7s",
	}, "    url: http://o\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.ProbeListen != "127.0.0.1:8687" || cfg.ShutdownTimeout != 7*time.Second {
		t.Errorf("probe_listen %q, shutdown_timeout %v", cfg.HTTP.ProbeListen, cfg.ShutdownTimeout)
	}
}

// outputFactories is testFactories with output type "out" decoding into newConfig's type.
func outputFactories[C any](newConfig func() *C) Factories {
	f := testFactories()
	f.Outputs = map[string]OutputFactory{"out": NewOutputFactory("out", newConfig,
		func(*C, Settings) (pipeline.Output, pipeline.OutputOptions, error) {
			return nil, pipeline.OutputOptions{}, nil
		})}
	return f
}

// loadWith sets env for the test and loads a config with input a and output o (`type:
// out` and the lines out gives).
func loadWith(t *testing.T, f Factories, env map[string]string, out string) (*Config, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	p := filepath.Join(t.TempDir(), "c.yaml")
	yaml := "inputs:\n  a:\n    type: in\n    path: /a\noutputs:\n  o:\n    type: out\n" + out
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(p, f)
}

// TestKeysGivenTwiceInAnotherCase: two keys of one mapping that differ only in case are a
// problem naming both lines, at every depth; viper kept one and lost the other silently.
func TestKeysGivenTwiceInAnotherCase(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"top", "data_dir: /a\nDATA_DIR: /b\n", `data_dir: given twice, as "data_dir" (line 1) and "DATA_DIR" (line 2)`},
		{"output", "outputs:\n  o:\n    type: out\n    url: http://o\n    URL: http://p\n", `outputs.o.url: given twice, as "url" (line 4) and "URL" (line 5)`},
		{"section name", "outputs:\n  o: {type: out, url: http://o}\n  O: {type: out, url: http://p}\n", `outputs.o: given twice`},
		{"filter in a list", "filters:\n  - {type: flt, when: a, WHEN: b}\n", `filters[0].when: given twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p, testFactories())
			if err == nil || !strings.Contains(err.Error(), p+": "+tc.want) {
				t.Errorf("Load = %v, want a problem %q", err, tc.want)
			}
		})
	}
}
