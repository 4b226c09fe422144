package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/fsfault"
)

// fileAgentConfig is an agent reading %DIR%/audit.log into %DIR%/out.ndjson, with the
// extra YAML (indented two spaces) added to the output section.
func fileAgentConfig(listen string) string {
	return fmt.Sprintf(`
data_dir: %%DIR%%/state
shutdown_timeout: 1s
http:
  listen: %q
inputs:
  apiserver:
    type: file
    paths: ["%%DIR%%/audit.log"]
    poll_interval: 50ms
outputs:
  debug:
    type: file
    path: %%DIR%%/out.ndjson
    flush_interval: 50ms
`, listen)
}

// TestSecondAgentOnDataDirExits (issue 20 kind 6): while one agent runs, a second on the
// same data_dir (a `run` or a `run --once`) exits with a message naming the lock and the
// holder, and ships nothing; the first keeps shipping each event once.
func TestSecondAgentOnDataDirExits(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.log")
	out := filepath.Join(dir, "out.ndjson")
	cfg := writeConfig(t, dir, fileAgentConfig(""))
	appendTo(t, logPath, auditLine("x-1", "get", "pods"))
	a := startAgent(t, cfg)
	waitFor(t, "first event", func() bool { return len(shippedIDs(t, out)) == 1 })

	for _, once := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var stderr syncBuf
		err := runAgent(ctx, cfg, once, nil, &stderr)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "in use by another auditship") || !strings.Contains(err.Error(), "auditship.lock") {
			t.Fatalf("second agent (once=%v): %v", once, err)
		}
	}
	appendTo(t, logPath, auditLine("x-2", "get", "pods"))
	waitFor(t, "second event", func() bool { return len(shippedIDs(t, out)) == 2 })
	a.stop(t)
	for id, n := range shippedIDs(t, out) {
		if n != 1 {
			t.Errorf("%s shipped %d times", id, n)
		}
	}
}

// TestCheckpointsThatCannotBeSaved (issue 20 kind 5): when data_dir fills up, the save
// errors are counted, the checkpoint's age grows and /readyz fails naming the input; once
// space is freed it is ready again. An agent refuses to start on a full data_dir.
func TestCheckpointsThatCannotBeSaved(t *testing.T) {
	dir := t.TempDir()
	state := fsfault.Mount(t, 1<<20)
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, strings.Replace(fileAgentConfig(addr), "%DIR%/state", state, 1))
	logPath := filepath.Join(dir, "audit.log")
	appendTo(t, logPath, auditLine("c-1", "get", "pods"))
	a := startAgent(t, cfg)
	waitFor(t, "ready", func() bool { code, _ := getOK(addr, "/readyz"); return code == 200 })

	fsfault.Fill(t, state, 0)
	appendTo(t, logPath, auditLine("c-2", "get", "pods"))
	waitFor(t, "/readyz to name the input", func() bool {
		code, body := getOK(addr, "/readyz")
		return code == 503 && strings.Contains(body, "input apiserver: checkpoint cannot be saved")
	})
	m := scrape(t, addr)
	if m[`auditship_checkpoint_save_errors_total{input="apiserver"}`] < 1 {
		t.Fatalf("save errors not counted: %v", m)
	}
	age := m[`auditship_checkpoint_age_seconds{input="apiserver"}`]
	waitFor(t, "the checkpoint's age to grow", func() bool {
		return scrape(t, addr)[`auditship_checkpoint_age_seconds{input="apiserver"}`] > age
	})

	if err := os.Remove(filepath.Join(state, ".fill")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ready again", func() bool { code, _ := getOK(addr, "/readyz"); return code == 200 })
	a.stop(t)

	fsfault.Fill(t, state, 0)
	err := runAgent(context.Background(), cfg, true, nil, &syncBuf{})
	if err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Fatalf("start on a full data_dir: %v", err)
	}
}
