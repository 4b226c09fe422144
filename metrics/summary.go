// Totals read back for the summaries `run --once` and `test` print.

package metrics

import (
	"sort"
	"strings"
)

// KV is one summary total.
type KV struct {
	Key   string
	Value int64
}

// Total returns a summary total, keyed "kind/label" (e.g. "events_read/apiserver").
func (m *Metrics) Total(key string) int64 {
	kind, label, _ := strings.Cut(key, "/")
	for _, f := range m.families {
		if f.kind == kind {
			f.mu.RLock()
			defer f.mu.RUnlock()
			if s := f.by[label]; s != nil {
				return s.n.Load()
			}
			return 0
		}
	}
	return 0
}

// Totals returns the totals of one kind, given as "kind/", by label in order.
func (m *Metrics) Totals(prefix string) []KV {
	kind := strings.TrimSuffix(prefix, "/")
	var out []KV
	for _, f := range m.families {
		if f.kind != kind {
			continue
		}
		f.mu.RLock()
		for label, s := range f.by {
			out = append(out, KV{Key: label, Value: s.n.Load()})
		}
		f.mu.RUnlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Sum adds the totals of one kind, given as "kind/".
func (m *Metrics) Sum(prefix string) int64 {
	var s int64
	for _, kv := range m.Totals(prefix) {
		s += kv.Value
	}
	return s
}
