// Package metrics counts what the agent does, for Prometheus (/metrics) and for the
// summaries `run --once` and `test` print. It implements both the engine's Observer and
// the components' config.Metrics, on a registry of its own (never the global one).
package metrics

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds every auditship_* series.
type Metrics struct {
	Registry *prometheus.Registry

	eventsRead     *prometheus.CounterVec
	bytesRead      *prometheus.CounterVec
	eventsInvalid  *prometheus.CounterVec
	eventsLost     *prometheus.CounterVec
	bytesLost      *prometheus.CounterVec
	linesSkipped   *prometheus.CounterVec
	checkpointLag  *prometheus.GaugeVec
	eventsDropped  *prometheus.CounterVec
	fieldsRedacted *prometheus.CounterVec
	filterErrors   *prometheus.CounterVec
	eventsShipped  *prometheus.CounterVec
	bytesShipped   *prometheus.CounterVec
	outputErrors   *prometheus.CounterVec
	outputRetries  *prometheus.CounterVec
	deadLettered   *prometheus.CounterVec
	batchSeconds   *prometheus.HistogramVec

	// Totals for summaries, without going through the registry.
	totals   sync.Map // name -> *atomic.Int64
	lag      sync.Map // input -> *atomic.Int64
	progress atomic.Int64
}

// New registers every series (and the Go runtime and process collectors) on a new registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	counter := func(name, help, label string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "auditship_" + name, Help: help}, []string{label})
		reg.MustRegister(c)
		return c
	}
	m := &Metrics{Registry: reg}
	m.eventsRead = counter("events_read_total", "Events decoded from input files.", "input")
	m.bytesRead = counter("bytes_read_total", "Bytes read from input files.", "input")
	m.eventsInvalid = counter("events_invalid_total", "Lines that were not valid audit events (skipped, never shipped).", "input")
	m.eventsLost = counter("events_lost_total", "Events (lines) rotated or deleted away before they were read.", "input")
	m.bytesLost = counter("bytes_lost_total", "Bytes rotated or deleted away before they were read.", "input")
	m.linesSkipped = counter("lines_skipped_total", "Lines longer than max_line_bytes, skipped whole.", "input")
	m.checkpointLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "auditship_checkpoint_lag_bytes", Help: "Bytes in input files not yet acknowledged by every output."}, []string{"input"})
	reg.MustRegister(m.checkpointLag)
	m.eventsDropped = counter("events_dropped_total", "Events dropped by a filter.", "filter")
	m.fieldsRedacted = counter("fields_redacted_total", "Fields removed, masked or hashed by a filter.", "filter")
	m.filterErrors = counter("filter_errors_total", "Events a filter could not process (dropped, fail-closed).", "filter")
	m.eventsShipped = counter("events_shipped_total", "Events delivered by an output.", "output")
	m.bytesShipped = counter("bytes_shipped_total", "Input bytes of the events delivered by an output.", "output")
	m.outputErrors = counter("output_errors_total", "Failed output writes.", "output")
	m.outputRetries = counter("output_retries_total", "Retried output writes.", "output")
	m.deadLettered = counter("dead_letter_events_total", "Events an output rejected for good and wrote to its dead-letter file.", "output")
	m.batchSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "auditship_batch_seconds", Help: "Time of one output write.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
	}, []string{"output"})
	reg.MustRegister(m.batchSeconds)
	return m
}

func (m *Metrics) add(key string, n int64) {
	v, ok := m.totals.Load(key)
	if !ok {
		v, _ = m.totals.LoadOrStore(key, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(n)
}

// Total returns a summary total, keyed "series/label" (e.g. "events_read/apiserver").
func (m *Metrics) Total(key string) int64 {
	if v, ok := m.totals.Load(key); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// Totals returns every summary total whose key starts with prefix, sorted by key.
func (m *Metrics) Totals(prefix string) []KV {
	var out []KV
	m.totals.Range(func(k, v any) bool {
		if s := k.(string); len(s) >= len(prefix) && s[:len(prefix)] == prefix {
			out = append(out, KV{Key: s[len(prefix):], Value: v.(*atomic.Int64).Load()})
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Sum adds every total whose key starts with prefix.
func (m *Metrics) Sum(prefix string) int64 {
	var s int64
	for _, kv := range m.Totals(prefix) {
		s += kv.Value
	}
	return s
}

// KV is one summary total.
type KV struct {
	Key   string
	Value int64
}

// Progress is a counter of acknowledged work, for the wedge check.
func (m *Metrics) Progress() int64 { return m.progress.Load() }

// Input side (config.Metrics).

func (m *Metrics) InputEventsRead(in string, n int) {
	m.eventsRead.WithLabelValues(in).Add(float64(n))
	m.add("events_read/"+in, int64(n))
}
func (m *Metrics) InputBytesRead(in string, n int) {
	m.bytesRead.WithLabelValues(in).Add(float64(n))
	m.add("bytes_read/"+in, int64(n))
}
func (m *Metrics) InputEventsInvalid(in string, n int) {
	m.eventsInvalid.WithLabelValues(in).Add(float64(n))
	m.add("events_invalid/"+in, int64(n))
}
func (m *Metrics) InputEventsLost(in string, n int) {
	m.eventsLost.WithLabelValues(in).Add(float64(n))
	m.add("events_lost/"+in, int64(n))
}
func (m *Metrics) InputBytesLost(in string, n int64) {
	m.bytesLost.WithLabelValues(in).Add(float64(n))
	m.add("bytes_lost/"+in, n)
}
func (m *Metrics) InputCheckpointLag(in string, b int64) {
	m.checkpointLag.WithLabelValues(in).Set(float64(b))
	v, ok := m.lag.Load(in)
	if !ok {
		v, _ = m.lag.LoadOrStore(in, new(atomic.Int64))
	}
	v.(*atomic.Int64).Store(b)
}

// Lag returns the summed checkpoint lag of every input: bytes read or waiting to be
// read that are not yet acknowledged.
func (m *Metrics) Lag() int64 {
	var s int64
	m.lag.Range(func(_, v any) bool {
		s += v.(*atomic.Int64).Load()
		return true
	})
	return s
}
func (m *Metrics) InputLinesSkipped(in string, n int) {
	m.linesSkipped.WithLabelValues(in).Add(float64(n))
	m.add("lines_skipped/"+in, int64(n))
}
func (m *Metrics) OutputDeadLettered(out string, n int) {
	m.deadLettered.WithLabelValues(out).Add(float64(n))
	m.add("dead_lettered/"+out, int64(n))
}

// Engine side (pipeline.Observer).

func (m *Metrics) FilterDropped(f string) {
	m.eventsDropped.WithLabelValues(f).Inc()
	m.add("dropped/"+f, 1)
}
func (m *Metrics) FilterRedacted(f string, n int) {
	m.fieldsRedacted.WithLabelValues(f).Add(float64(n))
	m.add("redacted/"+f, int64(n))
}
func (m *Metrics) FilterFailed(f string, _ error) {
	m.filterErrors.WithLabelValues(f).Inc()
	m.add("filter_errors/"+f, 1)
}
func (m *Metrics) OutputShipped(out string, events, bytes int) {
	m.eventsShipped.WithLabelValues(out).Add(float64(events))
	m.bytesShipped.WithLabelValues(out).Add(float64(bytes))
	m.add("shipped/"+out, int64(events))
	m.add("bytes_shipped/"+out, int64(bytes))
	m.progress.Add(1)
}
func (m *Metrics) OutputError(out string) {
	m.outputErrors.WithLabelValues(out).Inc()
	m.add("output_errors/"+out, 1)
}
func (m *Metrics) OutputRetry(out string) {
	m.outputRetries.WithLabelValues(out).Inc()
	m.add("retries/"+out, 1)
}
func (m *Metrics) OutputBatch(out string, d time.Duration) {
	m.batchSeconds.WithLabelValues(out).Observe(d.Seconds())
}
