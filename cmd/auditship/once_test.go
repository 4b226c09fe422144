package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/internal/testing/estest"
)

// TestRunOnceBothSources ships an audit log and a kube-audit-rest log with --once: every
// kept event arrives exactly once as an audit Event, no secret canary leaks, and a second
// --once ships nothing new.
func TestRunOnceBothSources(t *testing.T) {
	dir := t.TempDir()
	const n = 2000
	writeEvents(t, filepath.Join(dir, "audit.log"), gen.New(7).WithCanaries(true), n)
	writeEvents(t, filepath.Join(dir, "kar.log"), gen.New(8).WithFormat(gen.FormatKubeAuditRest).WithCanaries(true), n)

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
  - type: drop
    name: leases
    when: 'objectRef?.resource == "leases"'
  - type: redact
    preset: kubernetes-secrets
outputs:
  debug:
    type: file
    path: %DIR%/out.ndjson
`)
	code, _, stderr := run(t, "", "run", "-c", cfg, "--once")
	if code != 0 {
		t.Fatalf("run --once: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(dir, "out.ndjson")
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if gen.ContainsCanary(data) {
		t.Fatal("a secret canary reached the output")
	}
	seen := map[string]bool{}
	sources := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("output line is not JSON: %v", err)
		}
		if ev["kind"] != "Event" || ev["apiVersion"] != "audit.k8s.io/v1" {
			t.Fatalf("output is not an audit Event: kind=%v apiVersion=%v", ev["kind"], ev["apiVersion"])
		}
		if ref, _ := ev["objectRef"].(map[string]any); ref != nil && ref["resource"] == "leases" {
			t.Fatal("a dropped lease event was shipped")
		}
		key := fmt.Sprintf("%v/%v", ev["auditID"], ev["stage"])
		if seen[key] {
			t.Fatalf("%s shipped twice", key)
		}
		seen[key] = true
		src := "audit"
		if ann, _ := ev["annotations"].(map[string]any); ann != nil && ann["auditship.io/source"] == "kube-audit-rest" {
			src = "kube-audit-rest"
		}
		sources[src]++
	}
	if sources["audit"] == 0 || sources["kube-audit-rest"] == 0 {
		t.Fatalf("events per source: %v", sources)
	}
	if !strings.Contains(stderr, fmt.Sprintf("read %d events", 2*n)) {
		t.Errorf("summary does not report %d events read:\n%s", 2*n, stderr)
	}
	// Kept = read - dropped: every kept event arrived.
	var shipped int
	if _, err := fmt.Sscanf(stderr[strings.Index(stderr, "shipped "):], "shipped %d", &shipped); err != nil || shipped != len(seen) {
		t.Errorf("summary says %d shipped, output has %d (%v)", shipped, len(seen), err)
	}

	before := len(data)
	code, _, stderr = run(t, "", "run", "-c", cfg, "--once")
	if code != 0 {
		t.Fatalf("second run --once: exit %d\n%s", code, stderr)
	}
	after, _ := os.ReadFile(out)
	if len(after) != before {
		t.Fatalf("second --once shipped %d more bytes", len(after)-before)
	}
	fi, _ := os.Stat(out)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("output mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestSIEMRecommendedReduction runs `auditship test` with the shipped recommended config
// over the generator's realistic mix: the summary must report a reduction of at least 85%.
func TestSIEMRecommendedReduction(t *testing.T) {
	var b strings.Builder
	g := gen.New(3).WithCanaries(true)
	for i := range 5000 {
		b.Write(g.Event(i))
		b.WriteByte('\n')
	}
	code, stdout, stderr := run(t, b.String(), "test", "-c", filepath.Join("..", "..", "configs", "siem-recommended.yaml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if gen.ContainsCanary([]byte(stdout)) {
		t.Fatal("a secret canary survived the recommended config")
	}
	i := strings.Index(stderr, "reduction: ")
	if i < 0 {
		t.Fatalf("no reduction in summary:\n%s", stderr)
	}
	var red float64
	if _, err := fmt.Sscanf(stderr[i:], "reduction: %f%%", &red); err != nil {
		t.Fatal(err)
	}
	t.Logf("siem-recommended reduction on 5000 generated events: %.1f%%", red)
	if red < 85 {
		t.Fatalf("reduction %.1f%%, want >= 85%%\n%s", red, stderr)
	}
}

// TestJSONLogFormat: log_format json makes the agent's own logs JSON lines.
func TestJSONLogFormat(t *testing.T) {
	dir := t.TempDir()
	appendTo(t, filepath.Join(dir, "a.log"), auditLine("j-1", "get", "pods"))
	cfg := writeConfig(t, dir, "log_format: json\nhttp:\n  listen: \"\"\n"+validBase)
	code, _, stderr := run(t, "", "run", "-c", cfg, "--once")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	jsonLines := 0
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "{") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("log line is not JSON: %q", line)
			}
			if m["@message"] == nil || m["@level"] == nil {
				t.Fatalf("log line lacks @message/@level: %q", line)
			}
			jsonLines++
		}
	}
	if jsonLines == 0 {
		t.Fatalf("no JSON log lines:\n%s", stderr)
	}
}

// TestRunCPUProfile: --cpuprofile leaves a non-empty profile, readable by its owner only;
// an unwritable path is a usage error before anything runs.
func TestRunCPUProfile(t *testing.T) {
	dir := t.TempDir()
	writeEvents(t, filepath.Join(dir, "audit.log"), gen.New(3), 500)
	cfg := writeConfig(t, dir, `
data_dir: %DIR%/state
http:
  listen: ""
inputs:
  apiserver:
    type: file
    paths: ["%DIR%/audit.log"]
outputs:
  debug:
    type: file
    path: %DIR%/out.ndjson
`)
	prof := filepath.Join(dir, "cpu.prof")
	if code, _, stderr := run(t, "", "run", "-c", cfg, "--once", "--cpuprofile", prof); code != 0 {
		t.Fatalf("run --once --cpuprofile: exit %d\n%s", code, stderr)
	}
	st, err := os.Stat(prof)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() == 0 || st.Mode().Perm() != 0o600 {
		t.Fatalf("profile: %d bytes, mode %v; want non-empty and 0600", st.Size(), st.Mode().Perm())
	}
	code, _, stderr := run(t, "", "run", "-c", cfg, "--once", "--cpuprofile", filepath.Join(dir, "missing", "cpu.prof"))
	if code != exitUsage || !strings.Contains(stderr, "cpuprofile") {
		t.Fatalf("unwritable profile: exit %d, stderr %q", code, stderr)
	}
}

// writeEvents appends n events of g, one per line, to path.
func writeEvents(t *testing.T, path string, g *gen.Generator, n int) {
	t.Helper()
	var b strings.Builder
	for i := range n {
		b.Write(g.Event(i))
		b.WriteByte('\n')
	}
	appendTo(t, path, b.String())
}

// TestRunOnceSummaryCounts: the --once summary reports lines skipped for exceeding
// max_line_bytes (with a warning), and "shipped" leaves out the events the output
// dead-lettered, which it lists apart (issue 13, kind 10). The output is the in-repo
// Elasticsearch test server rejecting every document with a requestObject for good.
func TestRunOnceSummaryCounts(t *testing.T) {
	es, err := estest.Start(estest.Options{Faults: estest.Faults{RejectField: "requestObject"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(es.Close)
	dir := t.TempDir()
	var b strings.Builder
	for i := range 10 {
		b.WriteString(auditLine(fmt.Sprintf("ok-%d", i), "get", "pods"))
	}
	for i := range 3 {
		line := auditLine(fmt.Sprintf("rejected-%d", i), "create", "configmaps")
		b.WriteString(strings.Replace(line, `"verb"`, `"requestObject":{"kind":"ConfigMap","data":{"k":"v"}},"verb"`, 1))
	}
	for i := range 2 {
		long := auditLine(fmt.Sprintf("long-%d", i), "get", "pods")
		b.WriteString(strings.Replace(long, `"verb"`, `"pad":"`+strings.Repeat("x", 2048)+`","verb"`, 1))
	}
	appendTo(t, filepath.Join(dir, "audit.log"), b.String())
	cfg := writeConfig(t, dir, fmt.Sprintf(`
data_dir: %%DIR%%/state
http:
  listen: ""
inputs:
  apiserver:
    type: file
    paths: ["%%DIR%%/audit.log"]
    max_line_bytes: 1KiB
outputs:
  siem:
    type: elasticsearch
    addresses: ["%s"]
    dead_letter_path: %%DIR%%/dlq.ndjson
`, es.URL))
	code, _, stderr := run(t, "", "run", "-c", cfg, "--once")
	if code != 0 {
		t.Fatalf("run --once: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		"read 13 events",
		"skipped over max_line_bytes 2,",
		"output siem: shipped 10 events, 3 dead-lettered",
		"WARNING 2 lines longer than max_line_bytes were skipped",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
	if n := es.Stats().ItemsCreated; n != 10 {
		t.Errorf("server holds %d documents, want 10", n)
	}
}
