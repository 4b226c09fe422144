package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditship/auditship/internal/leakcorpus"
)

// writeLeakCorpus writes every shape of the leak corpus in every canary form: audit lines
// to audit.log, kube-audit-rest lines to kar.log. It returns the canaries planted.
func writeLeakCorpus(t *testing.T, dir string) []string {
	t.Helper()
	var audit, kar strings.Builder
	var planted []string
	for i, s := range leakcorpus.Shapes() {
		for _, form := range leakcorpus.Forms {
			line, c := s.Line(i, form)
			planted = append(planted, c...)
			w := &audit
			if s.Admission {
				w = &kar
			}
			w.Write(line)
			w.WriteByte('\n')
		}
	}
	for name, b := range map[string]string{"audit.log": audit.String(), "kar.log": kar.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return planted
}

// TestLeakCorpusThroughTheAgent ships the leak corpus (issue 12's seven kinds, canaries
// plain, base64 and gzip+base64, audit and kube-audit-rest lines) through `auditship
// test` and `run --once` with the kubernetes-secrets preset under each action: no canary
// reaches the output in any form, and the output is not empty.
func TestLeakCorpusThroughTheAgent(t *testing.T) {
	t.Setenv("AUDITSHIP_LEAK_HASH_KEY", "leak-corpus-key-0123456789")
	for _, action := range []string{"mask", "remove", "hash"} {
		t.Run(action, func(t *testing.T) {
			dir := t.TempDir()
			planted := writeLeakCorpus(t, dir)
			extra := ""
			if action == "hash" {
				extra = "\n    hash_key_env: AUDITSHIP_LEAK_HASH_KEY"
			}
			cfg := writeConfig(t, dir, `
data_dir: %DIR%/state
http:
  listen: ""
inputs:
  apiserver:
    type: file
    paths: ["%DIR%/audit.log"]
    format: audit
  webhook:
    type: file
    paths: ["%DIR%/kar.log"]
    format: kube-audit-rest
filters:
  - type: redact
    name: secrets
    preset: kubernetes-secrets
    action: `+action+extra+`
outputs:
  siem:
    type: file
    path: %DIR%/out.ndjson
`)
			code, _, stderr := run(t, "", "run", "-c", cfg, "--once")
			if code != 0 {
				t.Fatalf("run --once: exit %d\n%s", code, stderr)
			}
			out, err := os.ReadFile(filepath.Join(dir, "out.ndjson"))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(out), "\n"); n < 300 {
				t.Fatalf("run --once shipped %d events", n)
			}
			if c := leakcorpus.Leak(out, planted); c != "" {
				t.Fatalf("run --once: canary %s reached the output", c)
			}

			for _, in := range []struct{ file, format string }{{"audit.log", "audit"}, {"kar.log", "kube-audit-rest"}} {
				code, stdout, stderr := run(t, "", "test", "-c", cfg, "--format", in.format, "--input", filepath.Join(dir, in.file))
				if code != 0 {
					t.Fatalf("test %s: exit %d\n%s", in.file, code, stderr)
				}
				if stdout == "" {
					t.Fatalf("test %s: nothing kept", in.file)
				}
				if c := leakcorpus.Leak([]byte(stdout), planted); c != "" {
					t.Fatalf("test %s: canary %s reached the output", in.file, c)
				}
			}
		})
	}
}

// TestLeakCorpusRecommendedConfig: the shipped recommended config (audit_policy lowering
// secret events to Metadata, then the preset) lets no canary of the corpus through.
func TestLeakCorpusRecommendedConfig(t *testing.T) {
	dir := t.TempDir()
	planted := writeLeakCorpus(t, dir)
	for _, in := range []struct{ file, format string }{{"audit.log", "audit"}, {"kar.log", "kube-audit-rest"}} {
		code, stdout, stderr := run(t, "", "test", "-c", filepath.Join("..", "..", "configs", "siem-recommended.yaml"),
			"--format", in.format, "--input", filepath.Join(dir, in.file))
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if c := leakcorpus.Leak([]byte(stdout), planted); c != "" {
			t.Fatalf("%s: canary %s survived the recommended config", in.file, c)
		}
	}
}
