package main

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestReadyzWebhookSpoolFull: a webhook input whose spool is full (its output is down)
// answers 429 and makes /readyz name it, as the agent asks inputs too.
func TestReadyzWebhookSpoolFull(t *testing.T) {
	dir := t.TempDir()
	listen, hook, dead := freeAddr(t), freeAddr(t), freeAddr(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
data_dir: %%DIR%%/state
shutdown_timeout: 1s
http:
  listen: %s
inputs:
  hook:
    type: webhook
    listen: %s
    allow_plain_http: true
    max_request_bytes: 1KiB
    max_spool_bytes: 1KiB
outputs:
  siem:
    type: elasticsearch
    addresses: ["http://%s"]
    flush_interval: 50ms
`, listen, hook, dead))
	a := startAgent(t, cfg)
	body := `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + strings.TrimSuffix(auditLine("h-1", "get", "pods"), "\n") + `]}`
	var code int
	waitFor(t, "the spool to fill", func() bool {
		resp, err := http.Post("http://"+hook+"/audit", "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			return false
		}
		resp.Body.Close()
		code = resp.StatusCode
		return code == http.StatusTooManyRequests
	})
	var ready string
	waitFor(t, "/readyz to name the input", func() bool {
		var c int
		c, ready = getOK(listen, "/readyz")
		return c == 503 && strings.Contains(ready, "input hook: not ready")
	})
	if strings.Contains(ready, "spool") || strings.Contains(ready, dir) {
		t.Errorf("/readyz body tells more than the input's name: %q", ready)
	}
	a.stop(t)
}
