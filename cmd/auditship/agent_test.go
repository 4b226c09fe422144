package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/testing/freeport"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func auditLine(id, verb, resource string) string {
	return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":%q,"stage":"ResponseComplete","requestURI":"/api/v1/%s","verb":%q,"user":{"username":"alice"},"objectRef":{"resource":%q,"namespace":"ns","apiVersion":"v1"},"requestReceivedTimestamp":"2026-11-20T10:00:00.000000Z"}`+"\n", id, resource, verb, resource)
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// scrape returns every sample of /metrics as "name{labels}" -> value.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return out // not up yet
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type agentRun struct {
	cancel context.CancelFunc
	reload chan os.Signal
	done   chan struct{} // closed when runAgent returned, with err set
	err    error
	stderr *syncBuf
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startAgent(t *testing.T, cfg string) *agentRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := &agentRun{cancel: cancel, reload: make(chan os.Signal, 1), done: make(chan struct{}), stderr: &syncBuf{}}
	go func() {
		a.err = runAgent(ctx, cfg, false, a.reload, a.stderr)
		close(a.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-a.done:
		case <-time.After(30 * time.Second):
		}
	})
	return a
}

func (a *agentRun) stop(t *testing.T) {
	t.Helper()
	a.cancel()
	select {
	case <-a.done:
		if a.err != nil {
			t.Fatalf("agent: %v", a.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("agent did not stop")
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsCountWhatHappened runs the agent on a known file and checks that the
// counters on /metrics equal what was in it, and that the probes answer.
func TestMetricsCountWhatHappened(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	logPath := filepath.Join(dir, "audit.log")
	var content strings.Builder
	for i := range 40 {
		verb := "get"
		if i%4 == 0 {
			verb = "watch" // dropped: 10
		}
		content.WriteString(auditLine(fmt.Sprintf("m-%d", i), verb, "pods"))
	}
	content.WriteString("not json\n{\"kind\":0}\n") // invalid: 2
	secret := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"s-1","stage":"ResponseComplete","verb":"create","user":{"username":"alice"},"objectRef":{"resource":"secrets","namespace":"ns","name":"x","apiVersion":"v1"},"requestObject":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"x"},"data":{"a":"YQ==","b":"Yg=="}}}` + "\n"
	content.WriteString(secret)
	appendTo(t, logPath, content.String())
	size := len(content.String())

	cfg := writeConfig(t, dir, fmt.Sprintf(`
data_dir: %%DIR%%/state
http:
  listen: %s
inputs:
  apiserver:
    type: file
    paths: ["%%DIR%%/audit.log"]
    poll_interval: 50ms
filters:
  - type: drop
    name: no-watch
    when: 'verb == "watch"'
  - type: redact
    name: secrets
    preset: kubernetes-secrets
outputs:
  debug:
    type: file
    path: %%DIR%%/out.ndjson
    flush_interval: 50ms
`, addr))
	a := startAgent(t, cfg)
	waitFor(t, "31 events shipped", func() bool {
		return scrape(t, addr)[`auditship_events_shipped_total{output="debug"}`] == 31
	})
	m := scrape(t, addr)
	want := map[string]float64{
		`auditship_events_read_total{input="apiserver"}`:    41,
		`auditship_bytes_read_total{input="apiserver"}`:     float64(size),
		`auditship_events_invalid_total{input="apiserver"}`: 2,
		`auditship_events_dropped_total{filter="no-watch"}`: 10,
		`auditship_fields_redacted_total{filter="secrets"}`: 2, // the two data values
		`auditship_events_shipped_total{output="debug"}`:    31,
		`auditship_output_errors_total{output="debug"}`:     0,
		`auditship_batch_seconds_count{output="debug"}`:     -1, // > 0
		`auditship_checkpoint_lag_bytes{input="apiserver"}`: -2, // eventually 0
		`go_goroutines`: -1,
	}
	waitFor(t, "checkpoint lag 0", func() bool {
		return scrape(t, addr)[`auditship_checkpoint_lag_bytes{input="apiserver"}`] == 0
	})
	for k, v := range want {
		got, ok := m[k]
		switch {
		case v == -1:
			if !ok || got <= 0 {
				t.Errorf("%s = %v, want > 0", k, got)
			}
		case v == -2:
		default:
			if got != v && !(v == 0 && !ok) {
				t.Errorf("%s = %v, want %v", k, got, v)
			}
		}
	}
	// The secret preset counts fields it changed: at least the one Secret data map.
	if m[`auditship_fields_redacted_total{filter="secrets"}`] < 1 {
		t.Errorf("no redaction counted")
	}
	if code, _ := get(t, "http://"+addr+"/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
	if code, body := get(t, "http://"+addr+"/readyz"); code != 200 {
		t.Errorf("/readyz %d %s", code, body)
	}
	a.stop(t)
	out, _ := os.ReadFile(filepath.Join(dir, "out.ndjson"))
	if strings.Contains(string(out), `"YQ=="`) {
		t.Error("secret data shipped")
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); err != nil {
		t.Errorf("no checkpoint state: %v", err)
	}
}

// TestEverySeriesAtZeroFromStart: before anything is read, /metrics exports every
// labelled series at 0 for each configured input, filter (global, per-output, named or
// not) and output, so rate() and absent() alerts work from the start (issue 13, kind 9).
func TestEverySeriesAtZeroFromStart(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	appendTo(t, filepath.Join(dir, "audit.log"), "")
	cfg := writeConfig(t, dir, fmt.Sprintf(`
data_dir: %%DIR%%/state
http:
  listen: %s
inputs:
  apiserver:
    type: file
    paths: ["%%DIR%%/audit.log"]
  kar:
    type: file
    paths: ["%%DIR%%/kar/*.log"]
    format: kube-audit-rest
filters:
  - type: drop
    name: no-watch
    when: 'verb == "watch"'
  - type: redact
    preset: kubernetes-secrets
outputs:
  debug:
    type: file
    path: %%DIR%%/out.ndjson
    filters:
      - type: drop
        name: no-leases
        when: 'objectRef?.resource == "leases"'
  archive:
    type: object_store
    url: "file://%%DIR%%/archive/"
`, addr))
	a := startAgent(t, cfg)
	series := map[string][]string{
		"input": {"auditship_events_read_total", "auditship_bytes_read_total", "auditship_events_invalid_total",
			"auditship_events_lost_total", "auditship_bytes_lost_total", "auditship_lines_skipped_total",
			"auditship_checkpoint_lag_bytes"},
		"filter": {"auditship_events_dropped_total", "auditship_fields_redacted_total", "auditship_filter_errors_total"},
		"output": {"auditship_events_shipped_total", "auditship_bytes_shipped_total", "auditship_output_errors_total",
			"auditship_output_retries_total", "auditship_dead_letter_events_total", "auditship_batch_seconds_count"},
	}
	names := map[string][]string{
		"input":  {"apiserver", "kar"},
		"filter": {"no-watch", "redact-1", "no-leases"},
		"output": {"debug", "archive"},
	}
	var want []string
	for label, families := range series {
		for _, f := range families {
			for _, n := range names[label] {
				want = append(want, fmt.Sprintf(`%s{%s=%q}`, f, label, n))
			}
		}
	}
	waitFor(t, "pipeline started", func() bool { return strings.Contains(a.stderr.String(), "pipeline started") })
	m := scrape(t, addr)
	for _, k := range want {
		if v, ok := m[k]; !ok || v != 0 {
			t.Errorf("%s: exported %v, value %v; want 0 from start", k, ok, v)
		}
	}
	a.stop(t)
}

func shippedIDs(t *testing.T, path string) map[string]int {
	t.Helper()
	data, _ := os.ReadFile(path)
	ids := map[string]int{}
	for _, m := range regexp.MustCompile(`"auditID":"([^"]+)"`).FindAllStringSubmatch(string(data), -1) {
		ids[m[1]]++
	}
	return ids
}

// TestReload changes a filter mid-stream: nothing is lost or shipped twice, the new
// filter applies from the reload on, and an invalid config keeps the old one running.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.log")
	out := filepath.Join(dir, "out.ndjson")
	conf := func(verb string) string {
		return fmt.Sprintf(`
data_dir: %%DIR%%/state
http:
  listen: ""
inputs:
  apiserver:
    type: file
    paths: ["%%DIR%%/audit.log"]
    poll_interval: 50ms
filters:
  - type: drop
    when: 'verb == "%s"'
outputs:
  debug:
    type: file
    path: %%DIR%%/out.ndjson
    flush_interval: 50ms
`, verb)
	}
	phase := func(p string, n int) {
		var b strings.Builder
		for i := range n {
			verb := "get"
			if i%2 == 1 {
				verb = "list"
			}
			b.WriteString(auditLine(fmt.Sprintf("%s-%03d-%s", p, i, verb), verb, "pods"))
		}
		appendTo(t, logPath, b.String())
	}
	cfg := writeConfig(t, dir, conf("get"))
	a := startAgent(t, cfg)

	phase("a", 100) // drop get: 50 lists ship
	waitFor(t, "phase a", func() bool { return len(shippedIDs(t, out)) == 50 })

	writeConfig(t, dir, conf("list"))
	a.reload <- syscall.SIGHUP
	waitFor(t, "reload logged", func() bool { return strings.Count(a.stderr.String(), "pipeline started") >= 2 })
	phase("b", 100) // drop list: 50 gets ship
	waitFor(t, "phase b", func() bool { return len(shippedIDs(t, out)) == 100 })

	writeConfig(t, dir, "inputs: [\n") // invalid: keep running the old config
	a.reload <- syscall.SIGHUP
	waitFor(t, "invalid config rejected", func() bool { return strings.Contains(a.stderr.String(), "keeping the running one") })
	phase("c", 100)
	waitFor(t, "phase c", func() bool { return len(shippedIDs(t, out)) == 150 })
	a.stop(t)

	for id, n := range shippedIDs(t, out) {
		if n != 1 {
			t.Errorf("%s shipped %d times", id, n)
		}
		switch {
		case strings.HasPrefix(id, "a-") && strings.HasSuffix(id, "-get"),
			!strings.HasPrefix(id, "a-") && strings.HasSuffix(id, "-list"):
			t.Errorf("%s shipped although the filter in force dropped it", id)
		}
	}
}

// TestSIGTERMDrainsAndCheckpoints runs the real binary and stops it with SIGTERM: it
// exits 0 with a final checkpoint, so a restart ships nothing again.
func TestSIGTERMDrainsAndCheckpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "auditship")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var b strings.Builder
	for i := range 500 {
		b.WriteString(auditLine(fmt.Sprintf("t-%d", i), "get", "pods"))
	}
	appendTo(t, filepath.Join(dir, "audit.log"), b.String())
	cfg := writeConfig(t, dir, strings.Replace(validBase, "'verb == \"watch\"'", "'false'", 1))
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "run", "-c", cfg)
		cmd.Stderr = &syncBuf{}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	cmd := start()
	waitFor(t, "500 shipped", func() bool { return len(shippedIDs(t, filepath.Join(dir, "out.ndjson"))) == 500 })
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, cmd.Stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "inputs", "apiserver.json")); err != nil {
		t.Fatalf("no checkpoint after SIGTERM: %v", err)
	}
	once := exec.Command(bin, "run", "-c", cfg, "--once")
	if out, err := once.CombinedOutput(); err != nil {
		t.Fatalf("--once: %v\n%s", err, out)
	}
	for id, n := range shippedIDs(t, filepath.Join(dir, "out.ndjson")) {
		if n != 1 {
			t.Fatalf("%s shipped %d times after a SIGTERM and restart", id, n)
		}
	}
}

// TestProbesWhenOutputIsDown: with the only output unreachable, /readyz fails at once and
// /healthz fails once input has been pending without progress for wedge_timeout.
func TestProbesWhenOutputIsDown(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	dead := freeAddr(t) // nothing listens there
	appendTo(t, filepath.Join(dir, "audit.log"), auditLine("w-1", "get", "pods"))
	cfg := writeConfig(t, dir, downOutputConfig("  listen: "+addr+"\n  wedge_timeout: 300ms\n", dead))
	a := startAgent(t, cfg)
	waitFor(t, "/readyz to fail", func() bool {
		code, body := getOK(addr, "/readyz")
		return code == 503 && strings.Contains(body, "siem")
	})
	waitFor(t, "/healthz to report the wedge", func() bool {
		code, body := getOK(addr, "/healthz")
		return code == 503 && strings.Contains(body, "wedged")
	})
	a.stop(t)
	out, _ := os.ReadFile(filepath.Join(dir, "state", "inputs", "apiserver.json"))
	if strings.Contains(string(out), `"offset":`+strconv.Itoa(len(auditLine("w-1", "get", "pods")))) {
		t.Fatal("checkpoint advanced past an event no output delivered")
	}
}

// downOutputConfig is a config reading DIR/audit.log into an Elasticsearch output at
// dead, where nothing listens, with http's keys as given.
func downOutputConfig(http, dead string) string {
	return fmt.Sprintf(`
data_dir: %%DIR%%/state
shutdown_timeout: 1s
http:
%sinputs:
  apiserver:
    type: file
    paths: ["%%DIR%%/audit.log"]
    poll_interval: 50ms
outputs:
  siem:
    type: elasticsearch
    addresses: ["http://%s"]
    flush_interval: 50ms
`, http, dead)
}

func getOK(addr, path string) (int, string) {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
