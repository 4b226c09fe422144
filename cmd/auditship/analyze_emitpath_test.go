package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/internal/corpustest"
)

// --emit-config replaces only a config an earlier --emit-config wrote. `analyze
// --emit-config /var/log/kubernetes/audit/*.log` makes the live audit log the config
// path; emptying it (kube-apiserver writing on at its offset) would destroy the evidence.
func TestEmitConfigRefusesToOverwriteOtherFiles(t *testing.T) {
	line := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"1","stage":"ResponseComplete","verb":"get","user":{"username":"alice"}}` + "\n"
	tests := []struct {
		name     string
		existing string // "" for none; "emitted" for a config an earlier run wrote
		mode     os.FileMode
		wantOK   bool
	}{
		{"absent", "", 0, true},
		{"the live audit log", line + line, 0o644, false},
		{"an unrelated file", "data_dir: /var/lib/mine\n", 0o640, false},
		{"a one-byte file", "\x00", 0o644, false},
		{"an earlier emitted config", "emitted", 0o600, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			backup := filepath.Join(dir, "audit-2026-01-01T00-00-00.000.log")
			if err := os.WriteFile(backup, []byte(line), 0o600); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(dir, "audit.log")
			existing := tc.existing
			if existing == "emitted" {
				if code, _, errs := run(t, "", "analyze", "--emit-config", target, backup); code != 0 {
					t.Fatalf("first emit: %s", errs)
				}
				b, _ := os.ReadFile(target)
				existing = string(b)
			} else if existing != "" {
				if err := os.WriteFile(target, []byte(existing), tc.mode); err != nil {
					t.Fatal(err)
				}
				os.Chmod(target, tc.mode)
			}
			code, _, errs := run(t, "", "analyze", "--emit-config", target, backup)
			b, _ := os.ReadFile(target)
			fi, statErr := os.Stat(target)
			if tc.wantOK {
				if code != 0 || statErr != nil || fi.Mode().Perm() != 0o600 || !strings.Contains(string(b), "security-signals") {
					t.Errorf("exit %d %s; want the config written 0600", code, errs)
				}
				return
			}
			if code != 1 || !strings.Contains(errs, "refusing to overwrite") {
				t.Errorf("exit %d %q, want 1 and a refusal", code, errs)
			}
			if string(b) != existing || fi.Mode().Perm() != tc.mode {
				t.Errorf("the existing file was changed: mode %v, %q", fi.Mode().Perm(), b)
			}
		})
	}
}

// Usage errors come before any reading: `--emit-config` with stdin used to read and
// report all of it before saying a config cannot read stdin; a negative --top listed
// every group as 0 does.
func TestAnalyzeUsageErrorsBeforeReading(t *testing.T) {
	line := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"1","stage":"ResponseComplete","verb":"get","user":{"username":"alice"}}` + "\n"
	for name, args := range map[string][]string{
		"emit from stdin": {"analyze", "--emit-config", filepath.Join(t.TempDir(), "c.yaml"), "-"},
		"negative top":    {"analyze", "--top", "-1", "-"},
	} {
		code, out, errs := run(t, line, args...)
		if code != 2 || out != "" || errs == "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 2, no report, the reason", name, code, out, errs)
		}
	}
}

// The emitted config's input paths are globs to the file input: an analysed file whose
// name holds a pattern character (audit[1].log, audit*.log) is written escaped, so the
// agent reads that file and not the ones the pattern would match instead.
func TestEmitConfigPathsAreLiteral(t *testing.T) {
	for _, name := range []string{"audit[1].log", "audit*.log", "audit?.log", `audit\1.log`} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			mk := func(file, id string) string {
				p := filepath.Join(dir, file)
				e := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"` + id + `","stage":"ResponseComplete","verb":"update","user":{"username":"alice"},"objectRef":{"resource":"configmaps","namespace":"a"}}` + "\n"
				if err := os.WriteFile(p, []byte(e), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			in := mk(name, "analysed")
			mk("audit1.log", "decoy") // what audit[1].log, audit*.log and audit?.log match as patterns
			cfg := filepath.Join(dir, "emitted.yaml")
			if code, _, errs := run(t, "", "analyze", "--emit-config", cfg, "--data-dir", filepath.Join(dir, "state"),
				"--output", filepath.Join(dir, "out.ndjson"), in); code != 0 {
				t.Fatalf("analyze: %s", errs)
			}
			b, _ := os.ReadFile(cfg)
			if err := os.WriteFile(cfg, append(b, "\nhttp: {listen: \"\"}\n"...), 0o600); err != nil {
				t.Fatal(err)
			}
			if code, _, errs := run(t, "", "run", "-c", cfg, "--once"); code != 0 {
				t.Fatalf("run --once: %s", errs)
			}
			out, _ := os.ReadFile(filepath.Join(dir, "out.ndjson"))
			if !strings.Contains(string(out), `"auditID":"analysed"`) || strings.Contains(string(out), `"auditID":"decoy"`) {
				t.Errorf("the emitted config shipped %q, want the analysed file's event only", out)
			}
		})
	}
}

// Invalid lines are said on stderr with the input format: kube-audit-rest lines read
// with --input-format audit used to give "0 events ... (1 invalid)" and exit 0, silently.
func TestAnalyzeSaysInvalidLines(t *testing.T) {
	kar, err := os.ReadFile("../../testdata/kube-apiserver/kube-audit-rest.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(kar), "\n")
	for format, want := range map[string]string{"audit": "1 of 1 lines are not audit events as --input-format audit", "auto": ""} {
		code, _, errs := run(t, first+"\n", "analyze", "--input-format", format, "-")
		if code != 0 || (want == "") != (errs == "") || !strings.Contains(errs, want) {
			t.Errorf("--input-format %s: exit %d, stderr %q, want %q", format, code, errs, want)
		}
	}
}

// The emitted config and configs/siem-recommended.yaml keep every request with a signal
// on the public corpus (audit logs, kube-audit-rest lines and falco's single events that
// this project did not write), read in place and written to a temporary file.
func TestEmittedConfigKeepsSignalsOnPublicCorpus(t *testing.T) {
	dec, err := decode.New("auto")
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	corpustest.Lines(t, func(_ string, line []byte) {
		if evs, err := dec.Decode(line); err == nil && len(evs) > 0 {
			lines = append(lines, line)
		}
	})
	if len(lines) < 100 {
		t.Skipf("%d event lines in the public corpus", len(lines))
	}
	in := writeLines(t, filepath.Join(t.TempDir(), "corpus.log"), lines)
	cfg := filepath.Join(t.TempDir(), "emitted.yaml")
	if code, _, errs := run(t, "", "analyze", "--emit-config", cfg, in); code != 0 {
		t.Fatalf("analyze: %s", errs)
	}
	for _, c := range []string{cfg, "../../configs/siem-recommended.yaml"} {
		kept, reduction := applyConfig(t, c, in, nil)
		t.Logf("%s on %d public corpus lines: %d signal events kept, reduction %.1f%%", filepath.Base(c), len(lines), kept, reduction)
		if kept == 0 {
			t.Errorf("%s kept no signal event of the public corpus", c)
		}
	}
}
