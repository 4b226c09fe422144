package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/testing/kube"
)

var (
	agentOnce sync.Once
	agentBin  string
	agentErr  error
)

// buildAgent compiles cmd/auditship once per test binary.
func buildAgent(t *testing.T) string {
	t.Helper()
	agentOnce.Do(func() {
		dir, err := os.MkdirTemp("", "auditship-e2e-")
		if err != nil {
			agentErr = err
			return
		}
		agentBin = filepath.Join(dir, "auditship")
		cmd := exec.Command("go", "build", "-o", agentBin, "./cmd/auditship")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			agentErr = fmt.Errorf("build cmd/auditship: %v\n%s", err, out)
		}
	})
	if agentErr != nil {
		t.Fatal(agentErr)
	}
	return agentBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if agentBin != "" {
		os.RemoveAll(filepath.Dir(agentBin))
	}
	os.Exit(code)
}

// agent is the auditship binary running one configuration.
type agent struct {
	t      *testing.T
	bin    string
	cfg    string
	env    []string
	log    *os.File
	cmd    *exec.Cmd
	exited chan struct{}
	kills  int
}

func startAgent(t *testing.T, cfgText string, env ...string) *agent {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "auditship.yaml")
	// No metrics listener: the default 127.0.0.1:8686 is shared by every test binary that
	// runs an agent at the same time (go test runs packages in parallel).
	cfgText = "http:\n  listen: \"\"\n" + cfgText
	if err := os.WriteFile(cfg, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{t: t, bin: buildAgent(t), cfg: cfg, env: env, log: logf}
	if err := a.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.stop()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("agent log tail:\n%s", b)
		}
	})
	return a
}

func (a *agent) start() error {
	cmd := exec.Command(a.bin, "run", "-c", a.cfg)
	cmd.Env = append(os.Environ(), a.env...)
	cmd.Stdout = a.log
	cmd.Stderr = a.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	a.cmd, a.exited = cmd, exited
	return nil
}

// killAndRestart SIGKILLs the agent (a crash: nothing is flushed or checkpointed) and
// starts it again. It may run on a goroutine other than the test's.
func (a *agent) killAndRestart() error {
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
	a.kills++
	return a.start()
}

// stop ends the agent with SIGTERM (it drains and checkpoints), failing the test if it
// does not exit cleanly within a minute.
func (a *agent) stop() {
	if a.cmd == nil {
		return
	}
	cmd, exited := a.cmd, a.exited
	a.cmd = nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		if cmd.ProcessState != nil && !cmd.ProcessState.Success() {
			a.t.Errorf("agent exited with %v after SIGTERM", cmd.ProcessState)
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		a.t.Errorf("agent did not exit within a minute of SIGTERM")
	}
}

// eventKey identifies an audit event line: auditID and stage (one request has an event
// per stage).
func eventKey(line []byte) (string, error) {
	var e struct {
		AuditID string `json:"auditID"`
		Stage   string `json:"stage"`
	}
	if err := json.Unmarshal(line, &e); err != nil {
		return "", err
	}
	if e.AuditID == "" {
		return "", fmt.Errorf("no auditID in %.200s", line)
	}
	return e.AuditID + "/" + e.Stage, nil
}

// countKeys counts each event key in lines.
func countKeys(t *testing.T, what string, lines [][]byte) map[string]int {
	t.Helper()
	out := map[string]int{}
	for i, l := range lines {
		k, err := eventKey(l)
		if err != nil {
			t.Fatalf("%s line %d: %v", what, i+1, err)
		}
		out[k]++
	}
	return out
}

// readNDJSON returns the non-empty lines of a file (none when it does not exist yet).
func readNDJSON(path string) [][]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			out = append(out, append([]byte(nil), sc.Bytes()...))
		}
	}
	return out
}

// delivery compares what an output holds with the ground truth: events missing, events
// that are not in the ground truth, and extra copies (at-least-once delivery after a
// SIGKILL may repeat what was shipped but not yet checkpointed).
type delivery struct {
	output                      string
	truth, shipped, unique      int
	copies                      int // shipped copies of the duplicated events
	missing, unknown, duplicate []string
}

func compare(output string, truth, got map[string]int) delivery {
	d := delivery{output: output, truth: len(truth), unique: len(got)}
	for k, n := range got {
		d.shipped += n
		if truth[k] == 0 {
			d.unknown = append(d.unknown, k)
		}
		if n > 1 {
			d.duplicate = append(d.duplicate, k)
			d.copies += n
		}
	}
	for k := range truth {
		if got[k] == 0 {
			d.missing = append(d.missing, k)
		}
	}
	sort.Strings(d.missing)
	sort.Strings(d.unknown)
	return d
}

func (d delivery) String() string {
	return fmt.Sprintf("%s: %d events written by the API server, %d shipped (%d distinct), %d missing, %d not written by it, %d shipped more than once",
		d.output, d.truth, d.shipped, d.unique, len(d.missing), len(d.unknown), len(d.duplicate))
}

func (d delivery) check(t *testing.T) {
	t.Helper()
	t.Log(d)
	if len(d.missing) > 0 {
		t.Errorf("%s: %d events the API server wrote were not shipped, e.g. %v", d.output, len(d.missing), head(d.missing))
	}
	if len(d.unknown) > 0 {
		t.Errorf("%s: %d shipped events the API server never wrote, e.g. %v", d.output, len(d.unknown), head(d.unknown))
	}
}

func head(xs []string) []string {
	if len(xs) > 5 {
		return xs[:5]
	}
	return xs
}

// leaks reports which secret forms occur in data (named by where).
func leaks(where string, data []byte, forms map[string]string) []string {
	var out []string
	for form, secret := range forms {
		if bytes.Contains(data, []byte(form)) {
			if form == secret {
				out = append(out, fmt.Sprintf("%s: secret %.12s... in plain", where, secret))
			} else {
				out = append(out, fmt.Sprintf("%s: secret %.12s... encoded as %.16s...", where, secret, form))
			}
		}
	}
	sort.Strings(out)
	return out
}

// groundTruth reads every line the API server wrote, backups included.
func groundTruth(t *testing.T, c *kube.Cluster) (lines [][]byte, files []string) {
	t.Helper()
	files, err := c.AuditFiles()
	if err != nil {
		t.Fatal(err)
	}
	lines, err = kube.ReadLines(files)
	if err != nil {
		t.Fatal(err)
	}
	return lines, files
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("timed out after %s waiting for %s", timeout, what)
			return false
		}
		time.Sleep(250 * time.Millisecond)
	}
	return true
}

func joinLines(lines [][]byte) []byte { return bytes.Join(lines, []byte("\n")) }

var _ = strings.TrimSpace

// checkNoLeaks fails t for each leak form of a recorded secret found in an output. The
// input must hold some (else the check proves nothing): the counts are logged.
func checkNoLeaks(t *testing.T, forms map[string]string, input []byte, outputs map[string][][]byte) {
	t.Helper()
	inInput := leaks("input", input, forms)
	t.Logf("%d secret leak forms recorded; %d occur in the input", len(forms), len(inInput))
	if len(inInput) == 0 {
		t.Fatal("no planted secret reached the input: the leak check would prove nothing")
	}
	names := make([]string, 0, len(outputs))
	for n := range outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		found := leaks(n, joinLines(outputs[n]), forms)
		t.Logf("%s: %d leaked secret forms", n, len(found))
		for _, l := range found {
			t.Error(l)
		}
	}
}
