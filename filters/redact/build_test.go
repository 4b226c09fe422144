package redact

import (
	"testing"

	"github.com/auditship/auditship/internal/config"
)

// TestCreateUsesValidatedFilter: the filter config.Load's Validate built (its `when`
// compiled, its hash key read) is the one the factory creates, not built a second time;
// without Validate the factory builds it.
func TestCreateUsesValidatedFilter(t *testing.T) {
	t.Setenv("AUDITSHIP_TEST_REDACT_KEY", "0123456789abcdef0123")
	for _, tt := range []struct {
		name     string
		cfg      Config
		validate bool
	}{
		{"secrets preset with when", Config{Preset: PresetKubernetesSecrets, When: `verb != "get"`}, true},
		{"hashed paths", Config{Paths: []string{"requestObject.data"}, Action: "hash", HashKeyEnv: "AUDITSHIP_TEST_REDACT_KEY"}, true},
		{"not validated", Config{Preset: PresetManagedFields}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if tt.validate {
				if err := cfg.Validate(); err != nil {
					t.Fatal(err)
				}
			}
			validated := cfg.built
			f, err := NewFactory().Create(&cfg, config.Settings{})
			if err != nil {
				t.Fatal(err)
			}
			if got := f.(*Filter) == validated; got != tt.validate {
				t.Fatalf("Create returned what Validate built: %v, want %v", got, tt.validate)
			}
		})
	}
}
