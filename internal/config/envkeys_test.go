package config

import (
	"os"
	"path/filepath"
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

// TestEnvOnlyKeysOfSquashedBlocks: a key set only in the environment applies whether the
// output declares it itself or through a squashed block (the shared delivery keys): the
// redesign moved elasticsearch's batch, retry and dead_letter_path keys into such a block,
// and AUDITSHIP_OUTPUTS_SIEM_BATCH_MAX_EVENTS was then silently ignored.
func TestEnvOnlyKeysOfSquashedBlocks(t *testing.T) {
	f := testFactories()
	f.Outputs = map[string]OutputFactory{"out": NewOutputFactory("out", func() *squashingOutput {
		return &squashingOutput{squashedDelivery: squashedDelivery{BatchMaxEvents: 1000, FlushInterval: time.Second}}
	}, func(*squashingOutput, Settings) (pipeline.Output, pipeline.OutputOptions, error) {
		return nil, pipeline.OutputOptions{}, nil
	})}
	for k, v := range map[string]string{
		"AUDITSHIP_OUTPUTS_O_PASSWORD":         "p",
		"AUDITSHIP_OUTPUTS_O_BATCH_MAX_EVENTS": "7",
		"AUDITSHIP_OUTPUTS_O_FLUSH_INTERVAL":   "3s",
		"AUDITSHIP_OUTPUTS_O_DEAD_LETTER_PATH": "/env/dlq.ndjson",
	} {
		t.Setenv(k, v)
	}
	p := filepath.Join(t.TempDir(), "c.yaml")
	yaml := "inputs:\n  a:\n    type: in\n    path: /a\noutputs:\n  o:\n    type: out\n    url: http://o\n"
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p, f)
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
