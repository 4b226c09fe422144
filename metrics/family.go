// The labelled counter every per-component total is kept in: a Prometheus series and the
// int64 the summaries read, resolved once per label because filters count per event.

package metrics

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// family is one labelled counter. Its per-label series are resolved once and cached:
// filters report drops and redactions per event, so the hot path must not build label
// strings or hash label values every time.
type family struct {
	kind  string // its key in summaries, e.g. "dropped"
	label string // input, filter or output
	vec   *prometheus.CounterVec
	mu    sync.RWMutex
	by    map[string]*series
}

type series struct {
	c prometheus.Counter
	n atomic.Int64
}

func (f *family) add(label string, n int64) {
	s := f.series(label)
	s.c.Add(float64(n))
	s.n.Add(n)
}

// series returns label's series, creating it (at 0) if need be.
func (f *family) series(label string) *series {
	f.mu.RLock()
	s := f.by[label]
	f.mu.RUnlock()
	if s == nil {
		f.mu.Lock()
		if s = f.by[label]; s == nil {
			s = &series{c: f.vec.WithLabelValues(label)}
			f.by[label] = s
		}
		f.mu.Unlock()
	}
	return s
}
