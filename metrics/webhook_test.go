package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestWebhookSeries: a webhook input's series exist at 0 before any request, and count
// what it reports.
func TestWebhookSeries(t *testing.T) {
	m := New()
	m.WebhookDeclare("hook")
	for _, name := range []string{"auditship_webhook_requests_total", "auditship_webhook_events_received_total"} {
		if n := testutil.CollectAndCount(m.Registry, name); n == 0 {
			t.Errorf("%s not declared", name)
		}
	}
	m.WebhookRequest("hook", 429)
	m.WebhookEventsReceived("hook", 500)
	m.Spool("hook", 4096, 2, 3*time.Second)
	want := `
# HELP auditship_spool_segments Segment files in a webhook input's spool.
# TYPE auditship_spool_segments gauge
auditship_spool_segments{input="hook"} 2
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "auditship_spool_segments"); err != nil {
		t.Error(err)
	}
	if v := testutil.ToFloat64(m.webhookRequests.WithLabelValues("hook", "429")); v != 1 {
		t.Errorf("429 requests %v", v)
	}
	if v := testutil.ToFloat64(m.webhookEvents.WithLabelValues("hook")); v != 500 {
		t.Errorf("events received %v", v)
	}
	if v := testutil.ToFloat64(m.spoolOldest.WithLabelValues("hook")); v != 3 {
		t.Errorf("oldest unacked %v", v)
	}
}
