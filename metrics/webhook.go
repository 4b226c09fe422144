// The webhook input's series: requests by status code, events received and its spool.

package metrics

import (
	"strconv"
	"time"
)

// WebhookDeclare creates a webhook input's series at 0: events received and requests for
// each code it answers that an alert would watch.
func (m *Metrics) WebhookDeclare(input string) {
	m.webhookEvents.WithLabelValues(input)
	for _, code := range []string{"200", "400", "401", "403", "413", "429", "500", "503"} {
		m.webhookRequests.WithLabelValues(input, code)
	}
}

// WebhookRequest counts a request a webhook input answered with code.
func (m *Metrics) WebhookRequest(input string, code int) {
	m.webhookRequests.WithLabelValues(input, strconv.Itoa(code)).Inc()
}

// WebhookEventsReceived counts events a webhook input spooled and answered 200.
func (m *Metrics) WebhookEventsReceived(input string, n int) {
	m.webhookEvents.WithLabelValues(input).Add(float64(n))
}

// Spool reports a webhook input's spool: bytes, segments and the age of its oldest
// segment not yet delivered whole.
func (m *Metrics) Spool(input string, bytes int64, segments int, oldestUnacked time.Duration) {
	m.spoolBytes.WithLabelValues(input).Set(float64(bytes))
	m.spoolSegments.WithLabelValues(input).Set(float64(segments))
	m.spoolOldest.WithLabelValues(input).Set(oldestUnacked.Seconds())
}
