package elasticsearch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/testing/estest"
	"github.com/auditship/auditship/pipeline"
)

// repoRoot is the directory holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// buildAgent compiles cmd/auditship into a temporary directory.
func buildAgent(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "auditship")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/auditship")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/auditship: %v\n%s", err, out)
	}
	return bin
}

// TestAgentKilledAndRestarted runs the real binary against estest with 10% faults,
// SIGKILLs it while it is shipping, runs it again, and checks that every event is
// stored exactly once and every rejected one is in the dead-letter file.
func TestAgentKilledAndRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the agent binary")
	}
	bin := buildAgent(t)
	srv := startServer(t, estest.Faults{
		RequestReject429Rate: 0.1, RetryAfter: time.Second,
		Item429Rate: 0.1, Item400Rate: 0.1,
		DropRate: 0.1, LostAnswerRate: 0.1,
		SlowRate: 0.1, SlowDelay: 50 * time.Millisecond,
	})

	dir := t.TempDir()
	events := auditEvents(t, 12000)
	var log bytes.Buffer
	for _, ev := range events {
		log.Write(ev.Raw())
		log.WriteByte('\n')
	}
	logPath := filepath.Join(dir, "audit.log")
	if err := os.WriteFile(logPath, log.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	dlq := filepath.Join(dir, "dlq", "siem.ndjson")
	cfgPath := writeAgentConfig(t, dir, logPath, srv.URL, dlq, "    batch_max_events: 250\n    request_timeout: 10s\n")

	if out, err := exec.Command(bin, "validate", "-c", cfgPath).CombinedOutput(); err != nil {
		if strings.Contains(string(out), "unknown output type") {
			t.Skipf("this build does not register the elasticsearch output yet: %s", out)
		}
		t.Fatalf("validate: %v\n%s", err, out)
	}

	// First run: killed once a third of the events are stored.
	var stderr1 bytes.Buffer
	first := exec.Command(bin, "run", "--once", "-c", cfgPath)
	first.Stderr = &stderr1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	killed := false
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
wait:
	for {
		select {
		case err := <-exited:
			t.Logf("first run ended before the kill (%v); the restart still must not duplicate", err)
			break wait
		case <-ctx.Done():
			t.Fatal("first run made no progress")
		case <-time.After(20 * time.Millisecond):
			if srv.Stats().ItemsCreated >= len(events)/3 {
				if err := first.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				<-exited
				killed = true
				break wait
			}
		}
	}
	t.Logf("first run killed=%v with %d events stored", killed, srv.Stats().ItemsCreated)

	// Second run: resumes from the checkpoint, replays what was unacknowledged.
	var stderr2 bytes.Buffer
	second := exec.CommandContext(ctx, bin, "run", "--once", "-c", cfgPath)
	second.Stderr = &stderr2
	if err := second.Run(); err != nil {
		t.Fatalf("second run: %v\n%s", err, tail(stderr2.String()))
	}

	cfg := DefaultConfig()
	cfg.DeadLetterPath = dlq
	writes := srv.Writes()
	dead := map[string]int{}
	for _, d := range readDeadLetters(t, dlq) {
		dead[d.ID]++
	}
	rejected := 0
	for _, ev := range events {
		k := docKey(t, cfg, ev)
		index, id := splitKey(k)
		if srv.WouldReject400(index, id) {
			rejected++
			// A kill before the checkpoint re-reads, and so re-dead-letters, some of them:
			// at least once, never lost.
			if dead[id] < 1 || writes[k] != 0 {
				t.Errorf("rejected %s: %d dead letters, %d writes", k, dead[id], writes[k])
			}
			continue
		}
		if writes[k] != 1 || dead[id] != 0 {
			t.Errorf("%s written %d times (dead letters %d), want exactly once", k, writes[k], dead[id])
		}
	}
	if got := srv.Count("k8s-audit-*"); got != len(events)-rejected {
		t.Errorf("count = %d, want %d", got, len(events)-rejected)
	}
	st := srv.Stats()
	t.Logf("server: %+v; rejected %d", st, rejected)
}

// writeAgentConfig writes a config reading logPath from the beginning and shipping to
// url, with extra lines (indented for the output section) appended; it returns its path.
func writeAgentConfig(t testing.TB, dir, logPath, url, dlq, extra string) string {
	t.Helper()
	cfgPath := filepath.Join(dir, "auditship.yaml")
	cfgText := fmt.Sprintf(`data_dir: %s
log_level: warn
http:
  listen: ""
inputs:
  apiserver:
    type: file
    paths: [%q]
    format: audit
    start_at: beginning
outputs:
  siem:
    type: elasticsearch
    addresses: [%q]
    dead_letter_path: %s
    flush_interval: 50ms
    retry_max_backoff: 500ms
%s`, filepath.Join(dir, "state"), logPath, url, dlq, extra)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath
}

// tail keeps the end of a long log for a failure message.
func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

// TestOnceShipsToEachDistribution runs `validate` and `run --once` of the real binary
// against estest answering as OpenSearch 1 and 2 and Elasticsearch 7.17 and 9 (and as
// Amazon OpenSearch Service, signatures required), with issue 13's lines: two requests
// sharing an auditID and stage (kind 1), and two Services whose targetPort is 8080 then
// "http" (kind 8). The run must end, with all four indexed and nothing dead-lettered.
func TestOnceShipsToEachDistribution(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the agent binary")
	}
	bin := buildAgent(t)
	var lines bytes.Buffer
	for _, ev := range append(pipeline.Batch{
		testEvent(t, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{"username":"m"},"requestReceivedTimestamp":"2026-11-20T10:00:00Z","stageTimestamp":"2026-11-20T10:00:00Z"}`),
		testEvent(t, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a","stage":"ResponseComplete","requestURI":"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings","verb":"create","user":{"username":"m"},"objectRef":{"resource":"clusterrolebindings","name":"x","apiGroup":"rbac.authorization.k8s.io"},"requestReceivedTimestamp":"2026-11-20T10:00:00Z","stageTimestamp":"2026-11-20T10:00:00Z"}`),
	}, servicePair(t)...) {
		lines.Write(ev.Raw())
		lines.WriteByte('\n')
	}
	const key, secret = "AKIDAUDITSHIPE2E", "e2e-secret"
	tests := []struct {
		flavor estest.Flavor
		sigv4  bool
	}{
		{estest.OpenSearch2, false},
		{estest.OpenSearch1, false},
		{estest.Elasticsearch717, false},
		{estest.Elasticsearch9, false},
		{estest.OpenSearch2, true},
	}
	for _, tt := range tests {
		name := tt.flavor.Distribution + "-" + tt.flavor.Version
		if tt.sigv4 {
			name += "-sigv4"
		}
		t.Run(name, func(t *testing.T) {
			var sig *estest.SigV4
			extra := ""
			if tt.sigv4 {
				sig = &estest.SigV4{Region: "eu-west-1", Service: "es", AccessKeyID: key, SecretAccessKey: secret}
				extra = "    aws_sigv4: {region: eu-west-1, service: es}\n"
			}
			srv := startFlavor(t, tt.flavor, sig)
			dir := t.TempDir()
			logPath := filepath.Join(dir, "audit.log")
			if err := os.WriteFile(logPath, lines.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			dlq := filepath.Join(dir, "dlq", "siem.ndjson")
			cfgPath := writeAgentConfig(t, dir, logPath, srv.URL, dlq, extra)
			env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+key, "AWS_SECRET_ACCESS_KEY="+secret,
				"AWS_SESSION_TOKEN=", "AWS_CONFIG_FILE="+filepath.Join(dir, "none"),
				"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"), "AWS_EC2_METADATA_DISABLED=true")
			validate := exec.Command(bin, "validate", "-c", cfgPath)
			validate.Env = env
			if out, err := validate.CombinedOutput(); err != nil {
				t.Fatalf("validate: %v\n%s", err, out)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stderr bytes.Buffer
			run := exec.CommandContext(ctx, bin, "run", "--once", "-c", cfgPath)
			run.Env, run.Stderr = env, &stderr
			if err := run.Run(); err != nil {
				t.Fatalf("run --once: %v (ended by the deadline: %v)\n%s", err, ctx.Err() != nil, tail(stderr.String()))
			}
			if n := srv.Count("k8s-audit-*"); n != 4 {
				t.Errorf("%d documents, want 4\n%s", n, tail(stderr.String()))
			}
			if _, err := os.Stat(dlq); err == nil {
				t.Errorf("dead letters written: %v", readDeadLetters(t, dlq))
			}
			if !strings.Contains(stderr.String(), "shipped 4 events") || !strings.Contains(stderr.String(), " 0 dead-lettered") {
				t.Errorf("summary does not say 4 shipped, 0 dead-lettered:\n%s", tail(stderr.String()))
			}
			if st := srv.Stats(); tt.sigv4 && (st.BadSignature != 0 || st.Signed == 0) {
				t.Errorf("signed %d, refused %d", st.Signed, st.BadSignature)
			}
		})
	}
}

// TestOnceStopsOnMisconfiguration: `run --once` whose compatibility contradicts the
// node, or against an Elasticsearch the output does not support, ends with exit 1 and
// the reason instead of retrying forever, and checkpoints nothing: a second run, with
// the config corrected or the cluster upgraded, ships every event.
func TestOnceStopsOnMisconfiguration(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the agent binary")
	}
	bin := buildAgent(t)
	var lines bytes.Buffer
	for _, ev := range servicePair(t) {
		lines.Write(ev.Raw())
		lines.WriteByte('\n')
	}
	tests := []struct {
		name            string
		flavor          estest.Flavor
		compat          string
		want            string
		fixed           estest.Flavor // the cluster of the second run
		fixedCompatAuto bool
	}{
		{"elasticsearch on opensearch 2", estest.OpenSearch2, CompatElasticsearch,
			"compatibility is elasticsearch, but the node is OpenSearch 2.19.1", estest.OpenSearch2, true},
		{"elasticsearch on opensearch 1", estest.OpenSearch1, CompatElasticsearch,
			"compatibility is elasticsearch, but the node is OpenSearch 1.3.20", estest.OpenSearch1, true},
		{"opensearch on elasticsearch 8", estest.Elasticsearch8, CompatOpenSearch,
			"compatibility is opensearch, but the node is Elasticsearch 8.19.0", estest.Elasticsearch8, true},
		{"elasticsearch 6.8 auto", estest.Flavor{Distribution: "elasticsearch", Version: "6.8.23"}, CompatAuto,
			"Elasticsearch 6.8.23 is not supported", estest.Elasticsearch8, true},
		{"elasticsearch 7.9 set", estest.Flavor{Distribution: "elasticsearch", Version: "7.9.3"}, CompatElasticsearch,
			"Elasticsearch 7.9.3 is not supported", estest.Elasticsearch717, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startFlavor(t, tt.flavor, nil)
			dir := t.TempDir()
			logPath := filepath.Join(dir, "audit.log")
			if err := os.WriteFile(logPath, lines.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			dlq := filepath.Join(dir, "dlq", "siem.ndjson")
			cfgPath := writeAgentConfig(t, dir, logPath, srv.URL, dlq, "    compatibility: "+tt.compat+"\n")
			if out, err := exec.Command(bin, "validate", "-c", cfgPath).CombinedOutput(); err != nil {
				t.Fatalf("validate (offline, cannot know the node): %v\n%s", err, out)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stderr bytes.Buffer
			run := exec.CommandContext(ctx, bin, "run", "--once", "-c", cfgPath)
			run.Stderr = &stderr
			err := run.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 || ctx.Err() != nil {
				t.Fatalf("run --once = %v (deadline: %v), want exit 1\n%s", err, ctx.Err() != nil, tail(stderr.String()))
			}
			if !strings.Contains(stderr.String(), "output siem is misconfigured: "+tt.want) {
				t.Errorf("stderr does not name the mismatch %q:\n%s", tt.want, tail(stderr.String()))
			}
			if st := srv.Stats(); st.BulkRequests != 0 || st.TemplatesPut != 0 {
				t.Errorf("sent %d bulk requests and %d templates, want none", st.BulkRequests, st.TemplatesPut)
			}
			if _, err := os.Stat(dlq); err == nil {
				t.Errorf("dead letters written: %v", readDeadLetters(t, dlq))
			}

			// Second run: corrected config (or upgraded cluster) ships all: nothing was checkpointed.
			fixed := srv
			if tt.fixed != tt.flavor {
				fixed = startFlavor(t, tt.fixed, nil)
			}
			compat := tt.compat
			if tt.fixedCompatAuto {
				compat = CompatAuto
			}
			cfgPath = writeAgentConfig(t, dir, logPath, fixed.URL, dlq, "    compatibility: "+compat+"\n")
			stderr.Reset()
			run = exec.CommandContext(ctx, bin, "run", "--once", "-c", cfgPath)
			run.Stderr = &stderr
			if err := run.Run(); err != nil {
				t.Fatalf("second run --once: %v\n%s", err, tail(stderr.String()))
			}
			if n := fixed.Count("k8s-audit-*"); n != 2 {
				t.Errorf("second run stored %d documents, want 2\n%s", n, tail(stderr.String()))
			}
		})
	}
}
