package e2e

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/testing/kube"
)

// TestWebhookBackendIntoWebhookInput: kube-apiserver's audit webhook backend posts its
// EventList batches to the agent's webhook input while its log backend writes the same
// events to --audit-log-path, the ground truth. The agent is SIGKILLed once mid-traffic
// (the API server retries the batches it could not deliver); every event the log backend
// wrote must be shipped, and nothing else.
func TestWebhookBackendIntoWebhookInput(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	a := startAgent(t, fmt.Sprintf(`data_dir: %s
inputs:
  apiserver:
    type: webhook
    listen: %s
    path: /audit
    allow_plain_http: true
outputs:
  file:
    type: file
    path: %s
`, filepath.Join(dir, "state"), addr, out))
	c := kube.Start(t, kube.Options{WebhookURL: "http://" + addr + "/audit"})
	d := kube.NewDriver(c, "webhook")
	ctx := context.Background()
	for i := range 4 {
		if i == 2 {
			if err := a.killAndRestart(); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Round(ctx, fmt.Sprintf("ledger-%d", i)); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	c.Stop() // flushes the webhook backend's last batch
	lines, _ := groundTruth(t, c)
	truth := countKeys(t, "API server", lines)
	waitUntil(t, "every event shipped", 2*time.Minute, func() bool {
		return len(compare("webhook", truth, countKeys(t, "output", readNDJSON(out))).missing) == 0
	})
	a.stop()
	compare("webhook input file output", truth, countKeys(t, "output", readNDJSON(out))).check(t)
}
