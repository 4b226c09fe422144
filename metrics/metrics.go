// Package metrics counts what the agent does, for Prometheus (/metrics) and for the
// summaries `run --once` and `test` print. It implements both the engine's Observer and
// the components' config.Metrics, on a registry of its own (never the global one).
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds every auditship_* series.
type Metrics struct {
	Registry *prometheus.Registry

	families []*family

	eventsRead, bytesRead, eventsInvalid, eventsLost, bytesLost, linesSkipped, nulBytes *family
	filesVanished                                                                       *family
	eventsDropped, fieldsRedacted, bodiesRemoved, filterErrors, membersRemoved          *family
	eventsShipped, bytesShipped, outputBytes, outputErrors, outputRetries, deadLettered *family

	checkpointLag        *prometheus.GaugeVec
	checkpointSaveErrors *family
	bytesOrphaned        *family
	configReloads        *family
	batchSeconds         *prometheus.HistogramVec
	webhookRequests      *prometheus.CounterVec
	webhookEvents        *prometheus.CounterVec
	spoolBytes           *prometheus.GaugeVec
	spoolSegments        *prometheus.GaugeVec
	spoolOldest          *prometheus.GaugeVec
	lag                  sync.Map // input -> *atomic.Int64
	checkpoints          sync.Map // input -> *checkpointState

	// owed counts, per output, events it dead-lettered that the engine has not yet
	// reported shipped: an output dead-letters items inside a write it then reports
	// successful, so the engine's count of the write includes them (see OutputShipped).
	owedMu sync.Mutex
	owed   map[string]int64
}

// New registers every series (and the Go runtime and process collectors) on a new registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{Registry: reg}
	counter := func(kind, name, help, label string) *family {
		vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "auditship_" + name, Help: help}, []string{label})
		reg.MustRegister(vec)
		f := &family{kind: kind, label: label, vec: vec, by: map[string]*series{}}
		m.families = append(m.families, f)
		return f
	}
	m.eventsRead = counter("events_read", "events_read_total", "Events decoded from input files.", "input")
	m.bytesRead = counter("bytes_read", "bytes_read_total", "Bytes read from input files.", "input")
	m.eventsInvalid = counter("events_invalid", "events_invalid_total", "Lines that were not valid audit events (skipped, never shipped).", "input")
	m.eventsLost = counter("events_lost", "events_lost_total", "Events (lines) rotated or deleted away before they were read.", "input")
	m.bytesLost = counter("bytes_lost", "bytes_lost_total", "Bytes rotated or deleted away before they were read.", "input")
	m.filesVanished = counter("files_vanished", "files_vanished_total", "Files last read as a live file (still written to) that were rotated or deleted away, and found nowhere, before their end could be checked (the agent was down, or had closed the file as idle): lines written to them since are lost, how many is unknown.", "input")
	m.linesSkipped = counter("lines_skipped", "lines_skipped_total", "Lines longer than max_line_bytes, skipped whole.", "input")
	m.nulBytes = counter("nul_bytes_skipped", "nul_bytes_skipped_total", "NUL bytes skipped between lines (left by a writer that kept its offset after a copytruncate).", "input")
	m.eventsDropped = counter("dropped", "events_dropped_total", "Events dropped by a filter.", "filter")
	m.fieldsRedacted = counter("redacted", "fields_redacted_total", "Fields removed, masked or hashed by a filter.", "filter")
	m.bodiesRemoved = counter("bodies_removed", "bodies_removed_total", "Request/response bodies a filter removed whole because it did not understand them (not in fields_redacted_total).", "filter")
	m.membersRemoved = counter("members_removed", "event_members_removed_total", "Top-level members outside the audit Event schema removed from decoded events.", "input")
	m.filterErrors = counter("filter_errors", "filter_errors_total", "Events a filter could not process (dropped, fail-closed).", "filter")
	m.eventsShipped = counter("shipped", "events_shipped_total", "Events delivered by an output (not those it dead-lettered).", "output")
	m.bytesShipped = counter("bytes_shipped", "bytes_shipped_total", "Input bytes of the events delivered by an output (not those it dead-lettered).", "output")
	m.outputBytes = counter("output_bytes", "output_bytes_total", "Bytes of the events delivered by an output as written (one NDJSON line each, before compression or envelopes): what a SIEM ingests, against auditship_bytes_read_total.", "output")
	m.outputErrors = counter("output_errors", "output_errors_total", "Failed output writes.", "output")
	m.outputRetries = counter("retries", "output_retries_total", "Retried output writes.", "output")
	m.deadLettered = counter("dead_lettered", "dead_letter_events_total", "Events an output rejected for good and wrote to its dead-letter file.", "output")
	m.checkpointSaveErrors = counter("checkpoint_save_errors", "checkpoint_save_errors_total", "Checkpoint saves that failed (a full or read-only data_dir); a restart re-ships what was delivered since the last save.", "input")
	m.bytesOrphaned = counter("bytes_orphaned", "bytes_orphaned_total", "Bytes not yet delivered by an input a reload removed or renamed: unread unless an input of that name comes back.", "input")
	m.configReloads = counter("config_reloads", "config_reloads_total", "Configuration reloads by result (success, or failure: the running configuration was kept or restarted).", "result")
	m.configReloads.series("success")
	m.configReloads.series("failure")
	m.checkpointLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "auditship_checkpoint_lag_bytes", Help: "Bytes in input files not yet acknowledged by every output."}, []string{"input"})
	m.batchSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "auditship_batch_seconds", Help: "Time of one output write.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
	}, []string{"output"})
	reg.MustRegister(m.checkpointLag, m.batchSeconds, checkpointAge{m})
	m.webhookRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "auditship_webhook_requests_total", Help: "Requests a webhook input answered, by HTTP status code."}, []string{"input", "code"})
	m.webhookEvents = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "auditship_webhook_events_received_total", Help: "Events a webhook input appended to its spool and answered 200."}, []string{"input"})
	m.spoolBytes = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "auditship_spool_bytes", Help: "Bytes in a webhook input's spool segments (max_spool_bytes: answered 429)."}, []string{"input"})
	m.spoolSegments = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "auditship_spool_segments", Help: "Segment files in a webhook input's spool."}, []string{"input"})
	m.spoolOldest = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "auditship_spool_oldest_unacked_seconds", Help: "Age of a webhook input's oldest spool segment not yet delivered whole (0: all delivered)."}, []string{"input"})
	reg.MustRegister(m.webhookRequests, m.webhookEvents, m.spoolBytes, m.spoolSegments, m.spoolOldest)
	return m
}

// Components names the configured components, for Declare.
type Components struct {
	Inputs, Filters, Outputs []string
}

// Declare creates every labelled series at 0 for each component that does not have it
// yet: every counter labelled input, filter or output, auditship_checkpoint_lag_bytes and
// auditship_checkpoint_age_seconds (about 0) per input and auditship_batch_seconds per
// output. A series that exists only after its first
// increment breaks rate() and absent() alerts (an error counter that never moved looks
// like a missing target), so the agent declares its components before it starts them,
// and again after a reload (series of components a reload removed stay, at their last
// value). Declaring keeps the values of series that exist.
func (m *Metrics) Declare(c Components) {
	names := map[string][]string{"input": c.Inputs, "filter": c.Filters, "output": c.Outputs}
	for _, f := range m.families {
		for _, n := range names[f.label] {
			f.series(n)
		}
	}
	for _, in := range c.Inputs {
		m.checkpointLag.WithLabelValues(in)
		// A checkpoint not saved yet is current: the input has acknowledged nothing.
		m.checkpoints.LoadOrStore(in, &checkpointState{current: time.Now()})
	}
	for _, out := range c.Outputs {
		m.batchSeconds.WithLabelValues(out)
	}
}

// Input side (config.Metrics).

func (m *Metrics) InputEventsRead(in string, n int)    { m.eventsRead.add(in, int64(n)) }
func (m *Metrics) InputBytesRead(in string, n int)     { m.bytesRead.add(in, int64(n)) }
func (m *Metrics) InputEventsInvalid(in string, n int) { m.eventsInvalid.add(in, int64(n)) }
func (m *Metrics) InputEventsLost(in string, n int)    { m.eventsLost.add(in, int64(n)) }
func (m *Metrics) InputBytesLost(in string, n int64)   { m.bytesLost.add(in, n) }
func (m *Metrics) InputFileVanished(in string)         { m.filesVanished.add(in, 1) }
func (m *Metrics) InputLinesSkipped(in string, n int)  { m.linesSkipped.add(in, int64(n)) }
func (m *Metrics) InputNULBytesSkipped(in string, n int64) {
	m.nulBytes.add(in, n)
}
func (m *Metrics) InputMembersRemoved(in string, n int) {
	m.membersRemoved.add(in, int64(n))
}

// OutputDeadLettered counts events out rejected for good and wrote to its dead-letter
// file. They are not shipped: the next OutputShipped of out leaves them out.
func (m *Metrics) OutputDeadLettered(out string, n int) {
	m.deadLettered.add(out, int64(n))
	m.owedMu.Lock()
	if m.owed == nil {
		m.owed = map[string]int64{}
	}
	m.owed[out] += int64(n)
	m.owedMu.Unlock()
}

// InputOrphaned counts bytes a reload left unread by removing their input.
func (m *Metrics) InputOrphaned(in string, bytes int64) { m.bytesOrphaned.add(in, bytes) }

// ConfigReload counts a reload by its result.
func (m *Metrics) ConfigReload(ok bool) {
	if ok {
		m.configReloads.add("success", 1)
	} else {
		m.configReloads.add("failure", 1)
	}
}

// Engine side (pipeline.Observer).

func (m *Metrics) FilterDropped(f string)         { m.eventsDropped.add(f, 1) }
func (m *Metrics) FilterRedacted(f string, n int) { m.fieldsRedacted.add(f, int64(n)) }
func (m *Metrics) FilterFailed(f string, _ error) { m.filterErrors.add(f, 1) }
func (m *Metrics) FilterRemovedBodies(f string, n int) {
	m.bodiesRemoved.add(f, int64(n))
}
func (m *Metrics) OutputError(out string) { m.outputErrors.add(out, 1) }
func (m *Metrics) OutputRetry(out string) { m.outputRetries.add(out, 1) }

// OutputShipped counts a write the engine saw succeed: events (their input bytes, and
// their bytes as written) delivered, less those the output dead-lettered during it
// (OutputDeadLettered, called before the write returns), so
// auditship_events_shipped_total counts only events the destination holds. The bytes of
// dead-lettered events are taken out at the write's average event size.
func (m *Metrics) OutputShipped(out string, events, bytes, outBytes int) {
	m.owedMu.Lock()
	dead := min(m.owed[out], int64(events))
	if dead > 0 {
		m.owed[out] -= dead
	}
	m.owedMu.Unlock()
	b, ob := int64(bytes), int64(outBytes)
	if dead > 0 {
		b -= b * dead / int64(events)
		ob -= ob * dead / int64(events)
	}
	m.eventsShipped.add(out, int64(events)-dead)
	m.bytesShipped.add(out, b)
	m.outputBytes.add(out, ob)
}
func (m *Metrics) OutputBatch(out string, d time.Duration) {
	m.batchSeconds.WithLabelValues(out).Observe(d.Seconds())
}
