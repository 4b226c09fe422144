package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const validBase = `
data_dir: %DIR%/state
inputs:
  apiserver:
    type: file
    paths: ["%DIR%/*.log"]
filters:
  - type: drop
    when: 'verb == "watch"'
outputs:
  debug:
    type: file
    path: %DIR%/out.ndjson
`

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(body, "%DIR%", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantCode int
		want     []string // substrings of stderr, one problem each
	}{
		{"valid", validBase, 0, nil},
		{"bad expression", strings.Replace(validBase, `verb == "watch"`, `verb == `, 1), 2,
			[]string{"filters[0]"}},
		{"unknown filter type", strings.Replace(validBase, "type: drop", "type: dorp", 1), 2,
			[]string{`filters[0].type: unknown filter type "dorp"`}},
		{"unknown format", strings.Replace(validBase, "type: file\n    paths", "type: file\n    format: syslog\n    paths", 1), 2,
			[]string{"inputs.apiserver", "format"}},
		{"file output without path", strings.Replace(validBase, "    path: %DIR%/out.ndjson\n", "", 1), 2,
			[]string{"outputs.debug", "path"}},
		{"unknown key", strings.Replace(validBase, "type: file\n    paths", "type: file\n    pathz: []\n    paths", 1), 2,
			[]string{"inputs.apiserver.pathz: unknown key"}},
		{"unknown top-level key", validBase + "\nlog_levle: debug\n", 2, []string{"log_levle: unknown key"}},
		{"unknown output type", strings.Replace(validBase, "type: file\n    path:", "type: syslog\n    path:", 1), 2,
			[]string{`outputs.debug.type: unknown output type "syslog"`}},
		{"bad size", strings.Replace(validBase, "type: file\n    paths", "type: file\n    max_line_bytes: lots\n    paths", 1), 2,
			[]string{"inputs.apiserver.max_line_bytes", "invalid size"}},
		{"every problem at once", strings.Replace(strings.Replace(validBase, "type: drop", "type: dorp", 1), "    path: %DIR%/out.ndjson\n", "", 1), 2,
			[]string{"filters[0].type", "outputs.debug"}},
		{"not yaml", "inputs: [\n", 2, []string{"config.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := writeConfig(t, dir, tc.body)
			code, _, stderr := run(t, "", "validate", "-c", p)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tc.wantCode != 0 {
				for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
					if !strings.HasPrefix(line, p+": ") {
						t.Errorf("problem line does not name the file: %q", line)
					}
				}
			}
		})
	}
}

func TestEnvOverride(t *testing.T) {
	dir := t.TempDir()
	p := writeConfig(t, dir, strings.Replace(validBase, "type: file\n    paths", "type: file\n    format: audit\n    paths", 1))
	t.Setenv("AUDITSHIP_INPUTS_APISERVER_FORMAT", "syslog")
	code, _, stderr := run(t, "", "validate", "-c", p)
	if code != 2 || !strings.Contains(stderr, "syslog") {
		t.Fatalf("env override not applied: exit %d, %s", code, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"validate"}, {"run", "--bogus"}, {"validate", "-c", "/nonexistent.yaml"}, {"test", "extra-arg"}} {
		if code, _, _ := run(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, out, _ := run(t, "", "version"); code != 0 || !strings.HasPrefix(out, "auditship ") {
		t.Errorf("version: exit %d out %q", code, out)
	}
}

func TestTestCommand(t *testing.T) {
	dir := t.TempDir()
	p := writeConfig(t, dir, validBase+`
  - type: redact
    preset: kubernetes-secrets
`)
	p = writeConfig(t, dir, strings.Replace(validBase, "outputs:", `  - type: redact
    name: secrets
    preset: kubernetes-secrets
outputs:`, 1))
	lines := strings.Join([]string{
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"1","verb":"watch","stage":"ResponseComplete","level":"Metadata"}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"2","verb":"create","stage":"ResponseComplete","level":"RequestResponse","objectRef":{"resource":"secrets","namespace":"a","name":"s","apiVersion":"v1"},"requestObject":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s"},"data":{"k":"c2VjcmV0LWNhbmFyeQ=="}}}`,
		`not json`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"3","verb":"get","stage":"ResponseComplete","level":"Metadata"}`,
	}, "\n") + "\n"
	code, stdout, stderr := run(t, lines, "test", "-c", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "c2VjcmV0LWNhbmFyeQ==") {
		t.Fatal("secret survived the preset")
	}
	if got := strings.Count(stdout, "\n"); got != 2 {
		t.Fatalf("%d events kept, want 2:\n%s", got, stdout)
	}
	for _, w := range []string{"events in: 3", "kept: 2", "dropped: 1", "invalid lines: 1", "drop-0", "secrets", "reduction:"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("summary lacks %q:\n%s", w, stderr)
		}
	}
}

// TestEnvOnlyKey: a key the file does not have at all can still come from the
// environment (secrets are kept out of config files).
func TestEnvOnlyKey(t *testing.T) {
	dir := t.TempDir()
	p := writeConfig(t, dir, validBase)
	t.Setenv("AUDITSHIP_OUTPUTS_DEBUG_FLUSH_INTERVAL", "soon")
	code, _, stderr := run(t, "", "validate", "-c", p)
	if code != 2 || !strings.Contains(stderr, "outputs.debug.flush_interval") {
		t.Fatalf("env-only key not applied: exit %d, %s", code, stderr)
	}
	t.Setenv("AUDITSHIP_OUTPUTS_DEBUG_FLUSH_INTERVAL", "250ms")
	if code, _, stderr := run(t, "", "validate", "-c", p); code != 0 {
		t.Fatalf("valid env-only key rejected: %s", stderr)
	}
}

// Two elasticsearch outputs on one cluster install their index template under one name
// (template_name defaults to "auditship"): whichever starts last overwrites the other's,
// whose indices are then mapped dynamically and reject bodies of a changed shape (issue
// 13 kind 8). validate says so; different names, clusters or identical templates pass.
func TestValidateSharedIndexTemplate(t *testing.T) {
	es := func(name, extra string) string {
		return "  " + name + ":\n    type: elasticsearch\n    addresses: [\"http://127.0.0.1:9200\"]\n" + extra
	}
	tests := []struct {
		name    string
		outputs string
		bad     bool
	}{
		{"index and data stream, default template name", es("a", "    index: \"a-%{+yyyy.MM.dd}\"\n") + es("b", "    data_stream: logs-audit-b\n"), true},
		{"two index patterns", es("a", "    index: \"a-%{+yyyy.MM.dd}\"\n") + es("b", "    index: \"b-%{+yyyy.MM.dd}\"\n"), true},
		{"same index, other body mapping", es("a", "") + es("b", "    template_bodies: disabled\n"), true},
		{"address written differently", es("a", "") + strings.Replace(es("b", "    index: b\n"), "http://127.0.0.1:9200", "http://127.0.0.1:9200/", 1), true},
		{"same index, same template", es("a", "") + es("b", ""), false},
		{"distinct template names", es("a", "    index: a\n") + es("b", "    index: b\n    template_name: auditship-b\n"), false},
		{"distinct clusters", es("a", "    index: a\n") + strings.Replace(es("b", "    index: b\n"), "127.0.0.1:9200", "127.0.0.2:9200", 1), false},
		{"one without a template", es("a", "    index: a\n") + es("b", "    index: b\n    setup_template: false\n"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			body := strings.Replace(validBase, "outputs:\n", "outputs:\n"+tc.outputs, 1)
			code, _, stderr := run(t, "", "validate", "-c", writeConfig(t, dir, body))
			if tc.bad {
				if code != 2 || !strings.Contains(stderr, "outputs.b: index template \"auditship\"") || !strings.Contains(stderr, "outputs.a") {
					t.Fatalf("exit %d, want 2 naming both outputs and the template; stderr:\n%s", code, stderr)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
			}
		})
	}
}

// TestTestCommandReadsGzip: `test --input` reads rotated .gz backups as the file input and
// `analyze` do (by content, whatever the name), so the check command `analyze
// --emit-config` prints for .gz files projects the real reduction instead of counting
// compressed bytes as invalid lines. A truncated .gz is an error naming the file.
func TestTestCommandReadsGzip(t *testing.T) {
	dir := t.TempDir()
	p := writeConfig(t, dir, validBase)
	lines := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"1","verb":"watch","stage":"ResponseComplete","level":"Metadata"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"2","verb":"get","stage":"ResponseComplete","level":"Metadata"}
not json
`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(lines))
	zw.Close()
	plain := filepath.Join(dir, "audit.log")
	rotated := filepath.Join(dir, "audit-2026-01-01T00-00-00.000.log") // gzip without the .gz name
	truncated := filepath.Join(dir, "audit-truncated.log.gz")
	for f, b := range map[string][]byte{plain: []byte(lines), rotated: gz.Bytes(), truncated: gz.Bytes()[:gz.Len()-10]} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, wantOut, want := run(t, "", "test", "-c", p, "--input", plain)
	if !strings.Contains(want, "events in: 2  kept: 1  dropped: 1  invalid lines: 1") {
		t.Fatalf("plain input: %s", want)
	}
	for name, args := range map[string][]string{
		"file":  {"--input", rotated},
		"stdin": {"--input", "-"},
	} {
		code, out, errs := run(t, gz.String(), append([]string{"test", "-c", p}, args...)...)
		if code != 0 || errs != want || out != wantOut {
			t.Errorf("%s: exit %d, summary\n%s\nwant the plain file's\n%s", name, code, errs, want)
		}
	}
	if code, _, errs := run(t, "", "test", "-c", p, "--input", truncated); code != 1 || !strings.Contains(errs, "audit-truncated.log.gz") || !strings.Contains(errs, "gzip") {
		t.Errorf("truncated gzip: exit %d %q, want 1 and an error naming the file and gzip", code, errs)
	}
	if code, _, errs := run(t, "", "analyze", truncated); code != 1 || !strings.Contains(errs, "audit-truncated.log.gz") || !strings.Contains(errs, "gzip") {
		t.Errorf("analyze, truncated gzip: exit %d %q, want 1 and an error naming the file and gzip", code, errs)
	}
}

// TestTestCommandSkipsNULRuns: `test` reads NUL runs as the file input does (they end a
// line and are skipped), so an event after a copytruncate's zeros is tested, not counted
// invalid while the agent would ship it.
func TestTestCommandSkipsNULRuns(t *testing.T) {
	dir := t.TempDir()
	p := writeConfig(t, dir, validBase)
	e := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"1","verb":"get","stage":"ResponseComplete","level":"Metadata"}`
	nuls := strings.Repeat("\x00", 4096)
	in := nuls + e + "\n" + e + nuls + e + "\n" + nuls + "\n"
	code, out, errs := run(t, in, "test", "-c", p)
	if code != 0 || !strings.Contains(errs, "events in: 3  kept: 3  dropped: 0  invalid lines: 0") || strings.Count(out, "\n") != 3 {
		t.Errorf("exit %d, %d events out, summary:\n%s", code, strings.Count(out, "\n"), errs)
	}
}

// TestTestCommandHonoursMaxLineBytes: `test` skips the lines the config's file input
// would skip (max_line_bytes), so its projection is what `run` ships: it used to keep a
// 2 KiB event that an input with max_line_bytes 1KiB skips.
func TestTestCommandHonoursMaxLineBytes(t *testing.T) {
	dir := t.TempDir()
	p := writeConfig(t, dir, strings.Replace(validBase, "type: file\n    paths", "type: file\n    max_line_bytes: 1KiB\n    paths", 1))
	small := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"1","verb":"get","stage":"ResponseComplete","level":"Metadata"}`
	big := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"2","verb":"get","stage":"ResponseComplete","level":"Metadata","annotations":{"x":"` + strings.Repeat("y", 2048) + `"}}`
	code, out, errs := run(t, small+"\n"+big+"\n", "test", "-c", p)
	if code != 0 || !strings.Contains(errs, "events in: 1  kept: 1  dropped: 0  invalid lines: 0  over-long lines: 1") || strings.Contains(out, `"auditID":"2"`) {
		t.Errorf("exit %d, summary:\n%s", code, errs)
	}
	// The same config and input through the agent: the same event is skipped.
	if err := os.WriteFile(filepath.Join(dir, "audit.log"), []byte(small+"\n"+big+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, append(mustRead(t, p), "\nhttp: {listen: \"\"}\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(t, "", "run", "-c", p, "--once"); code != 0 || !strings.Contains(errs, "skipped over max_line_bytes 1") {
		t.Errorf("run --once: exit %d %s", code, errs)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
