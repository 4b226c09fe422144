package pipeline

import (
	"crypto/sha256"
	"sync"
)

// MaxDelivered bounds how many events a Delivered set remembers (about 50 bytes each):
// more than the batches in flight at a shutdown ever hold. Past it, further events are
// not remembered and may be delivered twice, which at-least-once allows.
const MaxDelivered = 1 << 18

// Delivered remembers, per output, the events that output delivered from batches left
// unacknowledged when an engine stopped (another output had not delivered them within
// the drain timeout). Those batches are read again by the next engine; one that shares
// this set (a reload hands it over) does not send such an event to an output that
// already has it. Without it, a reload while one output is down repeated every in-flight
// event in the healthy ones.
//
// An event is known by the digest of its bytes as the engine settled them (eventKey);
// an event without bytes is not remembered (and may repeat).
type Delivered struct {
	mu sync.Mutex
	by map[string]map[string]struct{} // output -> event keys
	n  int
}

// NewDelivered returns an empty set.
func NewDelivered() *Delivered { return &Delivered{by: map[string]map[string]struct{}{}} }

// eventKey returns the event's identity: the SHA-256 of its bytes as the engine settled
// them (after the global filters, before any output's own; an output's clone keeps
// them), or "" when it has none. Not its auditID and stage: clients choose the audit ID
// (the Audit-ID request header), so two different requests can share both, and the
// second would be skipped as already delivered (issue 13 kind 1).
func eventKey(ev *Event) string {
	ev.mu.Lock()
	raw := ev.raw
	ev.mu.Unlock()
	if raw == nil {
		return ""
	}
	sum := sha256.Sum256(raw)
	return string(sum[:])
}

// record remembers that output delivered the events of b.
func (d *Delivered) record(output string, b Batch) {
	d.mu.Lock()
	defer d.mu.Unlock()
	set := d.by[output]
	for _, ev := range b {
		if d.n >= MaxDelivered {
			return
		}
		k := eventKey(ev)
		if k == "" {
			continue
		}
		if set == nil {
			set = map[string]struct{}{}
			d.by[output] = set
		}
		if _, ok := set[k]; !ok {
			set[k] = struct{}{}
			d.n++
		}
	}
}

// has reports whether anything is remembered for output, cheaply, so dispatch looks
// events up only after a stop left something.
func (d *Delivered) has(output string) bool {
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.by[output]) > 0
}

// without splits b into the events output has not delivered and those it has, which it
// forgets: the caller records them again if their batch is left unacknowledged again.
func (d *Delivered) without(output string, b Batch) (send, had Batch) {
	d.mu.Lock()
	defer d.mu.Unlock()
	set := d.by[output]
	send = make(Batch, 0, len(b))
	for _, ev := range b {
		if k := eventKey(ev); k != "" {
			if _, ok := set[k]; ok {
				delete(set, k)
				d.n--
				had = append(had, ev)
				continue
			}
		}
		send = append(send, ev)
	}
	if len(set) == 0 {
		delete(d.by, output)
	}
	return send, had
}

// Retain forgets what outputs not in keep delivered: a reload that removed an output or
// changed where it delivers must send it everything again.
func (d *Delivered) Retain(keep func(output string) bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, set := range d.by {
		if !keep(name) {
			d.n -= len(set)
			delete(d.by, name)
		}
	}
}

// Len returns how many events are remembered.
func (d *Delivered) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}
