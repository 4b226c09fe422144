package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
