package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/testing/freeport"
	"github.com/auditship/auditship/internal/testing/kube"
)

// TestWebhookBackendIntoWebhookInput: kube-apiserver's audit webhook backend posts its
// EventList batches to the agent's webhook input while its log backend writes the same
// events to --audit-log-path, the ground truth. The agent is SIGKILLed once mid-traffic
// (the API server retries the batches it could not deliver); every event the log backend
// wrote must be shipped, and nothing else, but for the events kube-apiserver reports it
// dropped (sentToWebhook).
func TestWebhookBackendIntoWebhookInput(t *testing.T) {
	addr := freeAddr(t)
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
	truth := sentToWebhook(t, c, countKeys(t, "API server", lines))
	waitUntil(t, "every event shipped", 2*time.Minute, func() bool {
		return len(compare("webhook", truth, countKeys(t, "output", readNDJSON(out))).missing) == 0
	})
	a.stop()
	compare("webhook input file output", truth, countKeys(t, "output", readNDJSON(out))).check(t)
}

// TestWebhookBackendKilledMidTraffic: as above, but the SIGKILL lands while a round's
// batches are being posted, and the events pass the kubernetes-secrets redaction. Every
// event in the log must be shipped except those kube-apiserver itself reports it dropped,
// logged with each event's audit ID: it does not retry a refused connection, so a batch
// posted in the instant nothing listened is gone; and events still in its webhook buffer
// when it stops are not sent. No secret the driver planted may be in the output.
func TestWebhookBackendKilledMidTraffic(t *testing.T) {
	addr := freeAddr(t)

	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	// The agent starts first, so that the API server's first batches find it.
	a := startAgent(t, fmt.Sprintf(`data_dir: %s
inputs:
  apiserver-webhook:
    type: webhook
    listen: %s
    path: /audit
    allow_plain_http: true
filters:
  - type: redact
    name: secrets
    preset: kubernetes-secrets
outputs:
  file:
    type: file
    path: %s
`, filepath.Join(dir, "state"), addr, out))
	c := kube.Start(t, kube.Options{WebhookURL: "http://" + addr + "/audit"})

	d := kube.NewDriver(c, "webhook-backend")
	ctx := context.Background()
	killed := make(chan struct{})
	for i := range 6 {
		if i == 3 {
			if !waitUntil(t, "the agent to ship the first rounds", 2*time.Minute, func() bool { return len(readNDJSON(out)) > 200 }) {
				t.FailNow()
			}
			// Mid-round: the kill lands while batches are being posted.
			go func() {
				defer close(killed)
				time.Sleep(300 * time.Millisecond)
				if err := a.killAndRestart(); err != nil {
					t.Error(err)
				}
			}()
		}
		if err := d.Round(ctx, fmt.Sprintf("orders-%02d", i)); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	<-killed
	// Stopping the API server fixes the ground truth.
	c.Stop()
	truthLines, _ := groundTruth(t, c)
	truth := countKeys(t, "API server", truthLines)
	want := sentToWebhook(t, c, truth)
	waitUntil(t, "the file output to hold every event", 3*time.Minute, func() bool {
		return len(compare("webhook", want, countKeys(t, "file output", readNDJSON(out))).missing) == 0
	})
	a.stop()
	shipped := readNDJSON(out)
	got := countKeys(t, "file output", shipped)
	dl := compare("webhook file output", want, got)
	dl.check(t)
	t.Logf("agent SIGKILLed %d times; %d events in the API server's log", a.kills, len(truth))
	if a.kills != 1 {
		t.Errorf("the agent was killed %d times, want 1", a.kills)
	}
	if l := leaks("webhook file output", joinLines(shipped), d.LeakForms()); len(l) > 0 {
		t.Errorf("planted secrets shipped: %v", l)
	}
	if len(d.Secrets()) == 0 {
		t.Error("the driver planted no secrets")
	}
}

var (
	// The webhook backend reports under its own name or, for events still buffered when
	// the API server stops, as 'buffered'.
	pluginError = regexp.MustCompile(`Error in audit plugin '[^']+' affecting \d+ audit events: [^\n]*`)
	impacted    = regexp.MustCompile(`AUDIT: id="([^"]+)" stage="([^"]+)"`)
)

// sentToWebhook returns the events of truth (the log backend's) that kube-apiserver's
// webhook backend did not report dropping. It drops, and logs with each event's audit ID,
// a batch posted while nothing listens (a refused connection is not retried) and the
// events still in its buffer when it stops; any other reason fails the test.
func sentToWebhook(t *testing.T, c *kube.Cluster, truth map[string]int) map[string]int {
	t.Helper()
	dropped, reasons := apiserverDrops(t, filepath.Join(c.Dir, "kube-apiserver.log"))
	for _, r := range reasons {
		if !strings.Contains(r, "connection refused") && !strings.Contains(r, "audit backend shut down") {
			t.Errorf("kube-apiserver dropped a batch for another reason than the agent being down or the API server stopping: %.300s", r)
		}
	}
	want := map[string]int{}
	for k, n := range truth {
		if !dropped[k] {
			want[k] = n
		}
	}
	t.Logf("kube-apiserver dropped and logged %d of the log backend's %d events (%d reports)", len(truth)-len(want), len(truth), len(reasons))
	byText := map[string]int{}
	for _, r := range reasons {
		_, why, _ := strings.Cut(r, "audit events: ")
		byText[why]++
	}
	for why, n := range byText {
		t.Logf("  %d reports: %.160s", n, why)
	}
	return want
}

// apiserverDrops reads kube-apiserver's log for the batches its webhook backend gave up
// on (audit.HandlePluginError: the error, then one "AUDIT: id=... stage=..." line per
// event): the events by key, and the errors.
func apiserverDrops(t *testing.T, path string) (map[string]bool, []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dropped := map[string]bool{}
	for _, m := range impacted.FindAllSubmatch(b, -1) {
		dropped[string(m[1])+"/"+string(m[2])] = true
	}
	var reasons []string
	for _, m := range pluginError.FindAll(b, -1) {
		reasons = append(reasons, string(m))
	}
	return dropped, reasons
}

// freeAddr returns a loopback address no one listens on now, for an agent to listen on.
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}
