package objectstore

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/auditship/auditship/internal/testing/miniotest"
)

// buildAgent compiles cmd/auditship into dir.
func buildAgent(t *testing.T, dir string) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "auditship")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/auditship")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build cmd/auditship: %v\n%s", err, out)
	}
	return bin
}

// agentLog collects a subprocess's output for the failure report.
type agentLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *agentLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *agentLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// auditWriter appends synthetic audit events to a file, as kube-apiserver would.
type auditWriter struct {
	path string
	next int
}

func (w *auditWriter) appendEvents(t *testing.T, n int) {
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	var b bytes.Buffer
	start := time.Date(2026, 11, 20, 10, 50, 0, 0, time.UTC)
	for range n {
		b.WriteString(syntheticLine(w.next, start.Add(time.Duration(w.next)*10*time.Millisecond)))
		b.WriteByte('\n')
		w.next++
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		t.Error(err)
	}
}

// TestAgentSIGKILLLosesNothing runs the real binary against MinIO, kills it with SIGKILL
// while events are still arriving, restarts it, and checks that every event reached the
// bucket; the duplicates the replay caused are measured and reported.
func TestAgentSIGKILLLosesNothing(t *testing.T) {
	s := startMinIO(t)
	dir := t.TempDir()
	bin := buildAgent(t, dir)
	auditLog := filepath.Join(dir, "audit.log")
	httpAddr := freeTestAddr(t)
	cfgPath := filepath.Join(dir, "auditship.yaml")
	cfgYAML := fmt.Sprintf(`data_dir: %s
http:
  listen: %s
inputs:
  apiserver:
    type: file
    paths: [%q]
    format: audit
    start_at: beginning
outputs:
  archive:
    type: object_store
    url: s3://%s/e2e/
    endpoint: %s
    region: %s
    force_path_style: true
    compression: gzip
    max_object_bytes: 32KiB
    max_object_age: 1s
    node_name: e2e-node
`, filepath.Join(dir, "data"), httpAddr, auditLog, testBucket, s.Endpoint, miniotest.Region)
	if err := os.WriteFile(cfgPath, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+s.AccessKey,
		"AWS_SECRET_ACCESS_KEY="+s.SecretKey,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	)
	logs := &agentLog{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent output:\n%s", logs.String())
		}
	})
	agent := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logs, logs
		return cmd
	}

	validate := exec.Command(bin, "validate", "-c", cfgPath)
	validate.Env = env
	if out, err := validate.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "unknown") {
			t.Skipf("cmd/auditship does not register the file input and object_store output yet: %s", out)
		}
		t.Fatalf("validate: %v\n%s", err, out)
	}

	w := &auditWriter{path: auditLog}
	w.appendEvents(t, 500)
	run := agent("run", "-c", cfgPath)
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	killed := false
	defer func() {
		if !killed {
			_ = run.Process.Kill()
			<-exited
		}
	}()

	waitReady(t, "http://"+httpAddr+"/readyz", exited)

	// Keep events arriving while the agent ships; kill it once a few objects are stored,
	// so the kill lands mid-stream with batches in flight.
	client := s.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for n := 0; n < 60; {
		select {
		case err := <-exited:
			t.Fatalf("agent exited before the kill: %v", err)
		case <-ctx.Done():
			t.Fatalf("agent stored only %d objects: %v", n, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		w.appendEvents(t, 200)
		n = countObjects(ctx, t, client, "e2e/")
	}
	if err := run.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	killed = true
	before := countObjects(ctx, t, client, "e2e/")
	// More arrives while the agent is down.
	w.appendEvents(t, 1000)

	// The restarted agent resumes from its checkpoint and, with --once, exits when all is
	// delivered.
	once := agent("run", "-c", cfgPath, "--once")
	if err := once.Run(); err != nil {
		t.Fatalf("run --once after the kill: %v", err)
	}
	view := &archiveView{client: client, prefix: "e2e/", seen: map[string]bool{}, ids: map[string]int{}}
	if err := view.refresh(ctx, t); err != nil {
		t.Fatal(err)
	}
	lost, dups := 0, 0
	for i := range w.next {
		switch n := view.ids[fmt.Sprintf("id-%06d", i)]; {
		case n == 0:
			lost++
		case n > 1:
			dups += n - 1
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d events lost after SIGKILL and restart", lost, w.next)
	}
	if extra := len(view.ids) - (w.next - lost); extra != 0 {
		t.Errorf("bucket holds %d events that were never written", extra)
	}
	t.Logf("SIGKILL: %d events, %d objects before the kill, %d after; %d duplicate copies (%.2f%%) from the replay",
		w.next, before, len(view.seen), dups, 100*float64(dups)/float64(w.next))

	// Everything is checkpointed: another --once run ships nothing.
	if err := agent("run", "-c", cfgPath, "--once").Run(); err != nil {
		t.Fatalf("second run --once: %v", err)
	}
	if n := countObjects(ctx, t, client, "e2e/"); n != len(view.seen) {
		t.Errorf("a second --once run added %d objects, want none", n-len(view.seen))
	}
}

func countObjects(ctx context.Context, t *testing.T, c *s3.Client, prefix string) int {
	t.Helper()
	n := 0
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(testBucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list objects: %v", err)
		}
		n += len(page.Contents)
	}
	return n
}

func freeTestAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitReady polls /readyz, which must turn 200 once the bucket is reachable.
func waitReady(t *testing.T, url string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("agent exited during startup: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(url)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
	}
	t.Fatalf("%s never reported ready", url)
}
