package redact

import (
	"testing"

	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/internal/testing/genbench"
)

// BenchmarkRedactPreset: ns/event of the kubernetes-secrets preset over the generator's mix.
func BenchmarkRedactPreset(b *testing.B) {
	f, err := New(&Config{Preset: PresetKubernetesSecrets})
	if err != nil {
		b.Fatal(err)
	}
	genbench.Run(b, gen.New(1), f.Apply)
}

// BenchmarkRedactPaths: ns/event of a path redaction (env values of pods).
func BenchmarkRedactPaths(b *testing.B) {
	f, err := New(&Config{Paths: []string{"requestObject.spec.containers[*].env[*].value", "responseObject.spec.containers[*].env[*].value"}})
	if err != nil {
		b.Fatal(err)
	}
	genbench.Run(b, gen.New(1), f.Apply)
}
