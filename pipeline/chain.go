package pipeline

import "time"

// Observer receives the engine's counts; the metrics package implements it for
// Prometheus and `auditship test` for its summary.
type Observer interface {
	FilterDropped(filter string)
	FilterRedacted(filter string, fields int)
	// FilterRemovedBodies counts request/response bodies a filter removed whole (apart
	// from the fields it redacted).
	FilterRemovedBodies(filter string, bodies int)
	// FilterFailed counts an event a filter could not process; it is dropped, never shipped.
	// err never carries event content.
	FilterFailed(filter string, err error)
	// OutputShipped counts delivered events, their input bytes and their bytes as written.
	OutputShipped(output string, events, bytes, outBytes int)
	OutputError(output string)
	OutputRetry(output string)
	OutputBatch(output string, d time.Duration)
}

// NopObserver discards every count.
type NopObserver struct{}

func (NopObserver) FilterDropped(string)                {}
func (NopObserver) FilterRedacted(string, int)          {}
func (NopObserver) FilterRemovedBodies(string, int)     {}
func (NopObserver) FilterFailed(string, error)          {}
func (NopObserver) OutputShipped(string, int, int, int) {}
func (NopObserver) OutputError(string)                  {}
func (NopObserver) OutputRetry(string)                  {}
func (NopObserver) OutputBatch(string, time.Duration)   {}

// Stage is a filter with the name its counts are reported under.
type Stage struct {
	Name   string
	Filter Filter
}

// Chain is filters applied in order.
type Chain []Stage

// Keep runs ev through the chain and reports whether it survives. A filter error drops the
// event (fail-closed) and is reported as a failure of that filter.
func (c Chain) Keep(ev *Event, obs Observer) bool {
	for _, s := range c {
		before, bodies := ev.Redacted, ev.RemovedBodies
		keep, err := s.Filter.Apply(ev)
		if n := ev.Redacted - before; n > 0 {
			obs.FilterRedacted(s.Name, n)
		}
		if n := ev.RemovedBodies - bodies; n > 0 {
			obs.FilterRemovedBodies(s.Name, n)
		}
		if err != nil {
			obs.FilterFailed(s.Name, err)
			return false
		}
		if !keep {
			obs.FilterDropped(s.Name)
			return false
		}
	}
	return true
}
