package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestReadyzTellsLittle: /readyz names the output that is not ready and nothing else
// (no address, no path, no bucket, no resolver error); the log has the details. With
// http.probe_listen the probes are served there only, and `auditship probe` reads them.
func TestReadyzTellsLittle(t *testing.T) {
	dir := t.TempDir()
	listen, probes := freeAddr(t), freeAddr(t)
	dead := freeAddr(t) // nothing listens there
	appendTo(t, filepath.Join(dir, "audit.log"), auditLine("w-1", "get", "pods"))
	cfg := writeConfig(t, dir, downOutputConfig("  listen: "+listen+"\n  probe_listen: "+probes+"\n", dead)+`
  archive:
    type: object_store
    url: file://%DIR%/archive-no-such-dir/
`)
	a := startAgent(t, cfg)
	var body string
	waitFor(t, "/readyz to fail", func() bool {
		var code int
		code, body = getOK(probes, "/readyz")
		return code == 503
	})
	if !strings.Contains(body, "output siem: not ready") {
		t.Fatalf("/readyz body %q does not name the output", body)
	}
	_, port, _ := strings.Cut(dead, ":")
	for _, leak := range []string{port, "127.0.0.1", "dial", "refused", dir, "archive-no-such-dir"} {
		if strings.Contains(body, leak) {
			t.Errorf("/readyz body tells %q: %q", leak, body)
		}
	}
	waitFor(t, "the details in the log", func() bool {
		return strings.Contains(a.stderr.String(), "output not ready") && strings.Contains(a.stderr.String(), port)
	})
	// The probes are not on http.listen, which serves /metrics.
	if code, _ := getOK(listen, "/readyz"); code != 404 {
		t.Errorf("/readyz on http.listen = %d, want 404", code)
	}
	if code, _ := getOK(listen, "/healthz"); code != 404 {
		t.Errorf("/healthz on http.listen = %d, want 404", code)
	}
	if code, _ := getOK(listen, "/metrics"); code != 200 {
		t.Errorf("/metrics on http.listen = %d, want 200", code)
	}
	// The exec probe: 0 for /healthz (alive), 1 for /readyz (an output is down).
	if code, out, stderr := run(t, "", "probe", "--addr", probes, "/healthz"); code != exitOK || out != "ok\n" {
		t.Errorf("probe /healthz: exit %d, %q %q", code, out, stderr)
	}
	if code, out, _ := run(t, "", "probe", "--addr", probes, "/readyz"); code != exitRuntime || !strings.Contains(out, "output siem: not ready") {
		t.Errorf("probe /readyz: exit %d, %q", code, out)
	}
	a.stop(t)
	if code, _, _ := run(t, "", "probe", "--addr", probes, "/healthz"); code != exitRuntime {
		t.Errorf("probe of a stopped agent: exit %d, want %d", code, exitRuntime)
	}
	for _, args := range [][]string{{"probe", "/metrics"}, {"probe"}, {"probe", "--addr", "nohost", "/readyz"}} {
		if code, _, _ := run(t, "", args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestValidateProbeListen(t *testing.T) {
	for _, tc := range []struct{ http, want string }{
		{"  probe_listen: nohost\n", "http.probe_listen: address nohost: missing port"},
		{"  listen: 127.0.0.1:8686\n  probe_listen: 127.0.0.1:8686\n", "http.probe_listen: must differ from http.listen"},
	} {
		code, _, stderr := run(t, "", "validate", "-c", writeConfig(t, t.TempDir(), validBase+"http:\n"+tc.http))
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("exit %d, stderr %q; want %q", code, stderr, tc.want)
		}
	}
}
