package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// TestReloadToConfigThatCannotStart (issue 20 kind 3): a config that loads but whose
// outputs or inputs cannot be created is refused by `validate` (exit 2, a line naming the
// key) and, on reload, leaves the running pipeline shipping; the failure is counted.
func TestReloadToConfigThatCannotStart(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(t *testing.T, dir string)
		output string // YAML of a second output, indented as under outputs:
		input  string // YAML of a second input, indented as under inputs:
		key    string // the key validate names; "" when validate cannot know
	}{
		{"empty api_key_file", func(t *testing.T, dir string) { writeFile(t, dir, "api.key", "\n") },
			"  siem:\n    type: elasticsearch\n    addresses: [\"http://127.0.0.1:1\"]\n    api_key_file: %DIR%/api.key\n", "", "outputs.siem"},
		{"CA file without a certificate", func(t *testing.T, dir string) { writeFile(t, dir, "ca.pem", "not a certificate\n") },
			"  siem:\n    type: elasticsearch\n    addresses: [\"https://127.0.0.1:1\"]\n    tls:\n      ca_file: %DIR%/ca.pem\n", "", "outputs.siem"},
		{"missing password_file", nil,
			"  siem:\n    type: elasticsearch\n    addresses: [\"http://127.0.0.1:1\"]\n    username: u\n    password_file: %DIR%/nope\n", "", "outputs.siem"},
		{"file output path is a directory", func(t *testing.T, dir string) { mustMkdir(t, filepath.Join(dir, "outdir")) },
			"  copy:\n    type: file\n    path: %DIR%/outdir\n", "", "outputs.copy"},
		{"file output path is a symlink", func(t *testing.T, dir string) {
			fsfault.PlantSymlink(t, t.TempDir(), filepath.Join(dir, "link.ndjson"))
		}, "  copy:\n    type: file\n    path: %DIR%/link.ndjson\n", "", "outputs.copy"},
		{"file output under a regular file", func(t *testing.T, dir string) { writeFile(t, dir, "plain", "") },
			"  copy:\n    type: file\n    path: %DIR%/plain/out.ndjson\n", "", "outputs.copy"},
		{"object store directory is a file", func(t *testing.T, dir string) { writeFile(t, dir, "archive", "") },
			"  archive:\n    type: object_store\n    url: file://%DIR%/archive\n", "", "outputs.archive"},
		{"new input's checkpoint is corrupt", func(t *testing.T, dir string) {
			mustMkdir(t, filepath.Join(dir, "state", "inputs"))
			writeFile(t, filepath.Join(dir, "state", "inputs"), "webhook.json", "{not json")
		}, "", "  webhook:\n    type: file\n    paths: [\"%DIR%/other.log\"]\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.setup != nil {
				c.setup(t, dir)
			}
			addr := freeAddr(t)
			base := fileAgentConfig(addr)
			bad := strings.Replace(base, "outputs:\n", "outputs:\n"+c.output, 1)
			bad = strings.Replace(bad, "inputs:\n", "inputs:\n"+c.input, 1)
			if c.key != "" {
				code, _, stderr := run(t, "", "validate", "-c", writeConfigAs(t, dir, "bad.yaml", bad))
				if code != exitUsage || !strings.Contains(stderr, c.key+":") {
					t.Fatalf("validate: exit %d, want %d with a line naming %s:\n%s", code, exitUsage, c.key, stderr)
				}
			}

			logPath := filepath.Join(dir, "audit.log")
			out := filepath.Join(dir, "out.ndjson")
			cfg := writeConfig(t, dir, base)
			appendTo(t, logPath, auditLine("r-1", "get", "pods"))
			a := startAgent(t, cfg)
			waitFor(t, "first event", func() bool { return len(shippedIDs(t, out)) == 1 })
			writeConfig(t, dir, bad)
			a.reload <- syscall.SIGHUP
			waitFor(t, "the reload to fail", func() bool {
				return scrape(t, addr)[`auditship_config_reloads_total{result="failure"}`] >= 1
			})
			select {
			case <-a.done:
				t.Fatalf("the agent stopped on a reload: %v\n%s", a.err, a.stderr)
			default:
			}
			appendTo(t, logPath, auditLine("r-2", "get", "pods"))
			waitFor(t, "an event after the failed reload", func() bool { return len(shippedIDs(t, out)) == 2 })
			waitFor(t, "ready", func() bool { code, _ := getOK(addr, "/readyz"); return code == 200 })
			a.stop(t)
			for id, n := range shippedIDs(t, out) {
				if n != 1 {
					t.Errorf("%s shipped %d times", id, n)
				}
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
}

// writeConfigAs is writeConfig under another name.
func writeConfigAs(t *testing.T, dir, name, body string) string {
	t.Helper()
	writeFile(t, dir, name, strings.ReplaceAll(body, "%DIR%", dir))
	return filepath.Join(dir, name)
}

// TestReloadThatOrphansACheckpoint (issue 20 kind 7): a reload renaming an input whose
// events are not yet delivered counts and warns about what the old name left unread, and
// the renamed input (start_at: end) reads its files from the beginning, so nothing is
// skipped silently; a reload moving data_dir is refused and the agent keeps shipping.
func TestReloadThatOrphansACheckpoint(t *testing.T) {
	dir := t.TempDir()
	addr, dead := freeAddr(t), freeAddr(t)
	logPath := filepath.Join(dir, "audit.log")
	out := filepath.Join(dir, "out.ndjson")
	for i := range 5 {
		appendTo(t, logPath, auditLine(fmt.Sprintf("backlog-%d", i), "get", "pods"))
	}
	conf := func(input, dataDir, output string) string {
		return fmt.Sprintf(`
data_dir: %s
shutdown_timeout: 1s
http:
  listen: %q
inputs:
  %s:
    type: file
    paths: ["%%DIR%%/audit.log"]
    poll_interval: 50ms
    start_at: end
outputs:
%s`, dataDir, addr, input, output)
	}
	esDown := fmt.Sprintf("  siem:\n    type: elasticsearch\n    addresses: [\"http://%s\"]\n    flush_interval: 50ms\n", dead)
	fileOut := "  debug:\n    type: file\n    path: %DIR%/out.ndjson\n    flush_interval: 50ms\n"

	cfg := writeConfig(t, dir, conf("apiserver", "%DIR%/state", esDown))
	a := startAgent(t, cfg)
	waitFor(t, "started", func() bool { return strings.Contains(a.stderr.String(), "pipeline started") })
	for i := range 3 {
		appendTo(t, logPath, auditLine(fmt.Sprintf("new-%d", i), "get", "pods"))
	}
	waitFor(t, "undelivered lag", func() bool { return scrape(t, addr)[`auditship_checkpoint_lag_bytes{input="apiserver"}`] > 0 })

	writeConfig(t, dir, conf("apiserver", "%DIR%/elsewhere", fileOut))
	a.reload <- syscall.SIGHUP
	waitFor(t, "the data_dir move refused", func() bool {
		return scrape(t, addr)[`auditship_config_reloads_total{result="failure"}`] >= 1
	})
	if !strings.Contains(a.stderr.String(), "data_dir cannot change on reload") {
		t.Fatalf("no reason logged:\n%s", a.stderr)
	}

	writeConfig(t, dir, conf("renamed", "%DIR%/state", fileOut))
	a.reload <- syscall.SIGHUP
	waitFor(t, "every event, backlog included, shipped", func() bool { return len(shippedIDs(t, out)) == 8 })
	m := scrape(t, addr)
	if m[`auditship_bytes_orphaned_total{input="apiserver"}`] <= 0 {
		t.Fatalf("orphaned bytes not counted")
	}
	if _, stale := m[`auditship_checkpoint_lag_bytes{input="apiserver"}`]; stale {
		t.Fatal("the removed input's lag is still exported")
	}
	if !strings.Contains(a.stderr.String(), "a reload removed an input with bytes not yet delivered") {
		t.Fatalf("no warning logged:\n%s", a.stderr)
	}
	a.stop(t)
}

// TestReloadWhileAnOutputIsDown (issue 20 kind 4): with Elasticsearch unreachable for
// longer than shutdown_timeout, reloads do not repeat in the file output the events it
// already wrote (they were 6,607 lines for 3,000 events).
func TestReloadWhileAnOutputIsDown(t *testing.T) {
	dir := t.TempDir()
	dead := freeAddr(t)
	logPath := filepath.Join(dir, "audit.log")
	out := filepath.Join(dir, "out.ndjson")
	conf := func(poll string) string {
		return fmt.Sprintf(`
data_dir: %%DIR%%/state
shutdown_timeout: 300ms
http:
  listen: ""
inputs:
  apiserver:
    type: file
    paths: ["%%DIR%%/audit.log"]
    poll_interval: %s
outputs:
  debug:
    type: file
    path: %%DIR%%/out.ndjson
    flush_interval: 50ms
  siem:
    type: elasticsearch
    addresses: ["http://%s"]
    flush_interval: 50ms
`, poll, dead)
	}
	cfg := writeConfig(t, dir, conf("50ms"))
	a := startAgent(t, cfg)
	total := 0
	for round, poll := range []string{"60ms", "70ms", "80ms"} {
		var b strings.Builder
		for i := range 200 {
			b.WriteString(auditLine(fmt.Sprintf("r%d-%d", round, i), "get", "pods"))
		}
		appendTo(t, logPath, b.String())
		total += 200
		waitFor(t, "the file output to have the round", func() bool { return len(shippedIDs(t, out)) == total })
		writeConfig(t, dir, conf(poll))
		a.reload <- syscall.SIGHUP
		waitFor(t, "the reload", func() bool { return strings.Count(a.stderr.String(), "pipeline started") >= round+2 })
	}
	appendTo(t, logPath, auditLine("last", "get", "pods"))
	waitFor(t, "the last event", func() bool { return shippedIDs(t, out)["last"] == 1 })
	a.stop(t)
	ids := shippedIDs(t, out)
	if len(ids) != total+1 {
		t.Fatalf("%d distinct events, want %d", len(ids), total+1)
	}
	for id, n := range ids {
		if n != 1 {
			t.Fatalf("%s written %d times", id, n)
		}
	}
}

// TestStartWithAnUnreadCheckpoint (issue 20 kind 7, across a restart): an agent started
// with a config that lacks an input whose checkpoint is in data_dir names it.
func TestStartWithAnUnreadCheckpoint(t *testing.T) {
	dir := t.TempDir()
	mustMkdir(t, filepath.Join(dir, "state", "inputs"))
	writeFile(t, filepath.Join(dir, "state", "inputs"), "old-name.json", `{"version":1,"files":[]}`)
	writeFile(t, filepath.Join(dir, "state", "inputs"), "apiserver.json.tmp-1", "")
	appendTo(t, filepath.Join(dir, "audit.log"), auditLine("u-1", "get", "pods"))
	var stderr syncBuf
	if err := runAgent(context.Background(), writeConfig(t, dir, fileAgentConfig("")), true, nil, &stderr); err != nil {
		t.Fatal(err)
	}
	log := stderr.String()
	if !strings.Contains(log, "does not have") || !strings.Contains(log, "input=old-name") {
		t.Fatalf("no warning naming the unread checkpoint:\n%s", log)
	}
	if strings.Contains(log, "input=apiserver.json.tmp") || strings.Contains(log, "input=apiserver ") {
		t.Fatalf("warned about a configured input or a temporary file:\n%s", log)
	}
}

// TestValidateDataDir (issue 20 kinds 3 and 5): `validate` refuses a data_dir the agent
// would refuse to start on, without creating it when it is fine.
func TestValidateDataDir(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns data_dir
		want  string                                // "" for valid
	}{
		{"missing, creatable", func(t *testing.T, dir string) string { return filepath.Join(dir, "new", "state") }, ""},
		{"a regular file", func(t *testing.T, dir string) string {
			writeFile(t, dir, "plain", "")
			return filepath.Join(dir, "plain")
		}, "data_dir: "},
		{"under a regular file", func(t *testing.T, dir string) string {
			writeFile(t, dir, "plain", "")
			return filepath.Join(dir, "plain", "state")
		}, "not a directory"},
		{"read-only filesystem", func(t *testing.T, dir string) string {
			ro := fsfault.Mount(t, 1<<20)
			fsfault.ReadOnly(t, ro)
			return filepath.Join(ro, "state")
		}, "read-only"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			dataDir := c.setup(t, dir)
			cfg := writeConfig(t, dir, strings.Replace(fileAgentConfig(""), "%DIR%/state", dataDir, 1))
			code, _, stderr := run(t, "", "validate", "-c", cfg)
			if c.want == "" {
				if code != 0 {
					t.Fatalf("validate: exit %d:\n%s", code, stderr)
				}
				if _, err := os.Stat(dataDir); err == nil {
					t.Fatal("validate created data_dir")
				}
				return
			}
			if code != exitUsage || !strings.Contains(stderr, "data_dir: ") || !strings.Contains(stderr, c.want) {
				t.Fatalf("validate: exit %d, want %d naming data_dir (%q):\n%s", code, exitUsage, c.want, stderr)
			}
		})
	}
}
