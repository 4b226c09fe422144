// Checkpoint health per input: the lag not yet acknowledged, the age of the checkpoint on
// disk and why its last save failed (readiness reads it).

package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// checkpointState is what is known of one input's checkpoint file.
type checkpointState struct {
	mu      sync.Mutex
	current time.Time // when the saved checkpoint was last known current
	err     error     // why the last save failed; nil when it succeeded
}

// checkpointAgeDesc is auditship_checkpoint_age_seconds, computed at each scrape.
var checkpointAgeDesc = prometheus.NewDesc("auditship_checkpoint_age_seconds",
	"Seconds since the input's checkpoint on disk was last known to hold every acknowledgement (about 1 normally; it grows while saves fail).",
	[]string{"input"}, nil)

// checkpointAge collects auditship_checkpoint_age_seconds per input.
type checkpointAge struct{ m *Metrics }

func (c checkpointAge) Describe(ch chan<- *prometheus.Desc) { ch <- checkpointAgeDesc }

func (c checkpointAge) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	c.m.checkpoints.Range(func(k, v any) bool {
		s := v.(*checkpointState)
		s.mu.Lock()
		age := now.Sub(s.current).Seconds()
		s.mu.Unlock()
		ch <- prometheus.MustNewConstMetric(checkpointAgeDesc, prometheus.GaugeValue, age, k.(string))
		return true
	})
}

func (m *Metrics) InputCheckpointLag(in string, b int64) {
	m.checkpointLag.WithLabelValues(in).Set(float64(b))
	v, ok := m.lag.Load(in)
	if !ok {
		v, _ = m.lag.LoadOrStore(in, new(atomic.Int64))
	}
	v.(*atomic.Int64).Store(b)
}

// InputCheckpointSaved records a checkpoint save (config.Metrics).
func (m *Metrics) InputCheckpointSaved(in string, err error) {
	v, ok := m.checkpoints.Load(in)
	if !ok {
		v, _ = m.checkpoints.LoadOrStore(in, &checkpointState{current: time.Now()})
	}
	s := v.(*checkpointState)
	s.mu.Lock()
	s.err = err
	if err == nil {
		s.current = time.Now()
	}
	s.mu.Unlock()
	if err != nil {
		m.checkpointSaveErrors.add(in, 1)
	}
}

// CheckpointFailures returns, by input, why its last checkpoint save failed; empty when
// every checkpoint is being saved. Readiness fails on it: an agent that cannot save its
// checkpoints would re-ship everything since the last save after a restart.
func (m *Metrics) CheckpointFailures() map[string]error {
	out := map[string]error{}
	m.checkpoints.Range(func(k, v any) bool {
		s := v.(*checkpointState)
		s.mu.Lock()
		if s.err != nil {
			out[k.(string)] = s.err
		}
		s.mu.Unlock()
		return true
	})
	return out
}

// InputLag returns an input's last reported checkpoint lag in bytes.
func (m *Metrics) InputLag(in string) int64 {
	if v, ok := m.lag.Load(in); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// ForgetInput drops an input's checkpoint lag and checkpoint state: a reload removed it,
// and what it left unread was counted when it was (see the reload in cmd/auditship).
func (m *Metrics) ForgetInput(in string) {
	m.lag.Delete(in)
	m.checkpointLag.DeleteLabelValues(in)
	m.checkpoints.Delete(in)
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
