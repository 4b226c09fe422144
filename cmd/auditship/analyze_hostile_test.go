package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// Event-derived strings (a username, a resource parsed from a request path) are printed
// by analyze into a terminal table, suggestion titles, an HTML page and the comments of
// the emitted config. Whoever can choose them (a request to
// /api/v1/namespaces/x/foo%0Ahttp:... is audited with that resource) must not be able to
// add keys to the emitted config, make it invalid, or send control sequences to the
// terminal of whoever runs analyze.
func TestAnalyzeHostileStrings(t *testing.T) {
	const inject = "\nhttp:\n  listen: 0.0.0.0:8686\n#"
	tests := []struct{ name, user, resource string }{
		{"newline in resource", "alice", "foo" + inject},
		{"newline in control-plane user", "system:evil" + inject, "configmaps"},
		{"carriage return", "alice", "foo\rhttp: {listen: 0.0.0.0:1}"},
		{"terminal escape", "alice\x1b]0;owned\x07\x1b[2J", "configmaps"},
		{"tab", "alice", "foo\tbar"},
		{"unicode line separators", "alice", "foo\u2028http:\u0085x"},
		{"invalid UTF-8", "alice\xff\xfe", "config\xc3maps"},
		{"NUL", "alice", "foo\x00bar"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ev := map[string]any{
				"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": "1",
				"stage": "ResponseComplete", "requestURI": "/api/v1/namespaces/default/x", "verb": "get",
				"user":           map[string]any{"username": tc.user},
				"objectRef":      map[string]any{"resource": tc.resource, "namespace": "default"},
				"responseStatus": map[string]any{"code": 404},
			}
			line, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			// json.Marshal writes invalid UTF-8 as U+FFFD; keep the raw bytes, as a log may.
			raw := strings.NewReplacer(`\ufffd\ufffd`, "\xff\xfe", `config\ufffdmaps`, "config\xc3maps").Replace(string(line))
			in := filepath.Join(dir, "audit.log")
			if err := os.WriteFile(in, []byte(raw+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := filepath.Join(dir, "emitted.yaml")
			code, out, errs := run(t, "", "analyze", "--emit-config", cfg, in)
			if code != 0 {
				t.Fatalf("analyze: exit %d: %s", code, errs)
			}
			checkPrintable(t, "table", out)
			// Invalid UTF-8 makes the line invalid, as the agent's decoder says.
			if !strings.Contains(out, "1 events") && !strings.Contains(out, "(1 invalid") {
				t.Errorf("the line was not counted:\n%s", out)
			}
			_, html, _ := run(t, "", "analyze", "--format", "html", in)
			if !utf8.ValidString(html) {
				t.Error("HTML report is not valid UTF-8")
			}
			b, err := os.ReadFile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			emitted := string(b)
			checkPrintable(t, "emitted config", emitted)
			if code, _, errs := run(t, "", "validate", "-c", cfg); code != 0 {
				t.Fatalf("emitted config invalid: %s\n%s", errs, emitted)
			}
			first := ""
			for _, l := range strings.Split(emitted, "\n") {
				if l == "" || strings.HasPrefix(l, "#") {
					continue
				}
				if first == "" {
					first = l
				}
				if strings.HasPrefix(l, "http") || strings.Contains(l, "listen:") {
					t.Errorf("event content became config: %q", l)
				}
			}
			if !strings.HasPrefix(first, "data_dir:") {
				t.Errorf("first non-comment line %q, want data_dir:", first)
			}
		})
	}
}

// checkPrintable fails on bytes a terminal or YAML parser would act on: control
// characters other than newline, invalid UTF-8, Unicode line separators.
func checkPrintable(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s is not valid UTF-8", what)
	}
	for i, r := range s {
		if r == '\n' {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			t.Errorf("%s holds %U at byte %d: %q", what, r, i, s[max(0, i-40):min(len(s), i+40)])
			return
		}
	}
}
