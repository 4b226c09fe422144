package file

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// e2eWriter appends audit events with unique IDs and rotates the way kube-apiserver's
// lumberjack (rename, later gzip) and logrotate's copytruncate do.
type e2eWriter struct {
	mu    sync.Mutex
	live  string
	next  int
	rot   int
	ljNow time.Time
}

func (w *e2eWriter) write(t testing.TB, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(auditLine(fmt.Sprintf("e2e-%07d", w.next)))
		w.next++
	}
	appendFile(t, w.live, b.String())
}

// rotate: 0 renames, 1 renames and gzips the backup at once, 2 copies and truncates.
func (w *e2eWriter) rotate(t testing.TB, kind int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rot++
	switch kind {
	case 0, 1:
		backup := lumberjackName(w.live, w.ljNow.Add(time.Duration(w.rot)*time.Minute))
		if err := os.Rename(w.live, backup); err != nil {
			t.Error(err)
			return
		}
		appendFile(t, w.live, "")
		if kind == 1 {
			gzipAway(t, backup)
		}
	case 2:
		if err := copyTruncate(w.live, fmt.Sprintf("%s-%010d", w.live, w.rot)); err != nil {
			t.Error(err)
		}
	}
}

func (w *e2eWriter) written() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.next
}

// TestAgentSurvivesSIGKILLAcrossRotations runs the real binary as a subprocess while a
// writer appends and rotates (rename, rename+gzip, copytruncate), kills it with SIGKILL
// at random points (sometimes rotating and gzipping while it is down), restarts it, and
// checks at the end that every event arrived, measuring duplicates.
func TestAgentSurvivesSIGKILLAcrossRotations(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the agent binary")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	keep := os.Getenv("AUDITSHIP_E2E_KEEP") != ""
	if keep { // keep logs, checkpoint and output to inspect a failure
		if tmp, err = os.MkdirTemp("", "auditship-e2e-"); err != nil {
			t.Fatal(err)
		}
		t.Logf("data kept in %s", tmp)
	}
	bin := os.Getenv("AUDITSHIP_E2E_BIN") // a prebuilt binary, else built here
	if bin == "" {
		bin = filepath.Join(tmp, "auditship")
		build := exec.Command("go", "build", "-o", bin, "./cmd/auditship")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Skipf("cannot build the agent: %v\n%s", err, out)
		}
	}
	logs, data, out := filepath.Join(tmp, "logs"), filepath.Join(tmp, "data"), filepath.Join(tmp, "out.ndjson")
	if err := os.MkdirAll(logs, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(tmp, "auditship.yaml")
	yaml := fmt.Sprintf(`data_dir: %q
log_level: warn
http:
  listen: ""
shutdown_timeout: 5s
inputs:
  apiserver:
    type: file
    paths: [%q]
    poll_interval: 20ms
    rescan_interval: 200ms
    batch_max_events: 100
outputs:
  out:
    type: file
    path: %q
    flush_interval: 50ms
`, data, filepath.Join(logs, "audit.log"), out)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(bin, "validate", "-c", cfg).CombinedOutput(); err != nil {
		if bytes.Contains(msg, []byte("type")) && bytes.Contains(msg, []byte("file")) {
			t.Skipf("the agent does not know the file input yet: %s", msg)
		}
		t.Fatalf("validate: %v\n%s", err, msg)
	}

	w := &e2eWriter{live: filepath.Join(logs, "audit.log"), ljNow: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	w.write(t, 200)
	ctx, stopWriter := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the writer: bursts of events, a rotation every ~600 events
		defer wg.Done()
		for n := 0; ctx.Err() == nil; n++ {
			w.write(t, 30)
			if n%20 == 19 {
				w.rotate(t, (n/20)%3)
			}
			time.Sleep(20 * time.Millisecond) // ~1500 events/s
		}
	}()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var stderr bytes.Buffer
	kills, downRotations := 0, 0
	for i := 0; i < 8; i++ {
		agent := exec.Command(bin, "run", "-c", cfg)
		agent.Stderr = &stderr
		if err := agent.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(1000+rng.IntN(2000)) * time.Millisecond)
		_ = agent.Process.Signal(syscall.SIGKILL)
		_ = agent.Wait()
		kills++
		if keep {
			snapshot(t, tmp, fmt.Sprintf("kill%d", i))
		}
		if rng.IntN(2) == 0 { // while the agent is down: more events, a rotation, a gzip
			w.write(t, 50)
			w.rotate(t, 1)
			downRotations++
		}
	}
	stopWriter()
	wg.Wait()
	if keep {
		snapshot(t, tmp, "final")
	}
	final := exec.Command(bin, "run", "-c", cfg, "--once")
	final.Stderr = &stderr
	if err := runWithin(final, 60*time.Second); err != nil {
		t.Fatalf("final --once run: %v\n%s", err, stderr.String())
	}

	content, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, m := range regexp.MustCompile(`"auditID":"(e2e-\d{7})"`).FindAllSubmatch(content, -1) {
		counts[string(m[1])]++
	}
	written := w.written()
	missing, dups := 0, 0
	for i := 0; i < written; i++ {
		n := counts[fmt.Sprintf("e2e-%07d", i)]
		if n == 0 {
			missing++
			if missing <= 5 {
				t.Errorf("e2e-%07d never arrived", i)
			}
		}
		if n > 1 {
			dups += n - 1
		}
	}
	// The checkpoint is saved right after acknowledgements (coalesced), so a kill re-ships
	// what was in flight plus what was acknowledged during the save that was cut short.
	t.Logf("written %d events, %d rotations (%d while down, gzipped), %d SIGKILLs: %d missing, %d duplicates (%.2f%%, %d per kill)",
		written, w.rot, downRotations, kills, missing, dups, 100*float64(dups)/float64(written), dups/kills)
	if len(counts) > written {
		t.Errorf("%d distinct IDs arrived, only %d were written", len(counts), written)
	}
	if missing > 0 {
		t.Fatalf("%d of %d events lost\nagent stderr:\n%s", missing, written, tail(stderr.String(), 3000))
	}
}

func runWithin(cmd *exec.Cmd, d time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("did not finish within %v", d)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// snapshot copies the checkpoint and lists the log directory (name, inode, size) into
// dir/snap-<name>, to compare what the agent believed with what was on disk.
func snapshot(t *testing.T, dir, name string) {
	ckpt, _ := os.ReadFile(filepath.Join(dir, "data", "inputs", "apiserver.json"))
	var b strings.Builder
	entries, _ := os.ReadDir(filepath.Join(dir, "logs"))
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			fmt.Fprintf(&b, "%s ino=%d size=%d\n", e.Name(), keyOf(fi).Ino, fi.Size())
		}
	}
	b.WriteString("\n")
	b.Write(ckpt)
	if err := os.WriteFile(filepath.Join(dir, "snap-"+name), []byte(b.String()), 0o600); err != nil {
		t.Log(err)
	}
}
