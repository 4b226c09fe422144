// Package pipeline holds the event model and the engine that moves batches of events from
// inputs through filters to outputs, acknowledging each batch back to its input only when
// every output that received it has delivered it.
package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Source is the format an event was decoded from.
type Source uint8

const (
	// SourceAudit is an audit.k8s.io Event written by kube-apiserver.
	SourceAudit Source = iota
	// SourceKubeAuditRest is an AdmissionReview line written by kube-audit-rest, normalised
	// into the audit Event shape.
	SourceKubeAuditRest
)

func (s Source) String() string {
	switch s {
	case SourceKubeAuditRest:
		return "kube-audit-rest"
	default:
		return "audit"
	}
}

// Event is one audit event. It keeps the bytes it was read from so that an event no filter
// changed is written out exactly as it came in, without a second encode.
type Event struct {
	raw    []byte
	fields map[string]any
	dirty  bool

	// Source is the format the event was decoded from.
	Source Source
	// Redacted counts the fields redaction filters replaced or removed in this event; the
	// engine attributes the increase to the filter that made it.
	Redacted int
	// InBytes is the size of the input this event came from (its share of the line).
	InBytes int
}

// NewEvent returns an event decoded from raw. When raw is nil the event has no original
// bytes (it was synthesised, as for kube-audit-rest) and is encoded from its fields.
func NewEvent(raw []byte, fields map[string]any, src Source) *Event {
	return &Event{raw: raw, fields: fields, dirty: raw == nil, Source: src, InBytes: len(raw)}
}

// Fields returns the decoded event for reading. Callers must not modify it: use
// MutableFields for that, so the event is re-encoded on output.
func (e *Event) Fields() map[string]any { return e.fields }

// MutableFields returns the decoded event and marks it changed.
func (e *Event) MutableFields() map[string]any {
	e.dirty = true
	return e.fields
}

// Dirty reports whether the event must be re-encoded rather than written as read.
func (e *Event) Dirty() bool { return e.dirty }

// Raw returns the original bytes, or nil when the event was changed or synthesised.
func (e *Event) Raw() []byte {
	if e.dirty {
		return nil
	}
	return e.raw
}

// AppendJSON appends the event's JSON (no trailing newline) to dst.
func (e *Event) AppendJSON(dst []byte) ([]byte, error) {
	if !e.dirty && e.raw != nil {
		return append(dst, e.raw...), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e.fields); err != nil {
		return dst, fmt.Errorf("encode event: %w", err)
	}
	out := buf.Bytes()
	return append(dst, out[:len(out)-1]...), nil
}

// Clone returns a deep copy that can be changed without affecting e. Per-output filters
// work on clones so that one output's redaction never leaks into, or out of, another's.
func (e *Event) Clone() *Event {
	c := *e
	c.fields = deepCopyMap(e.fields)
	return &c
}

func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return deepCopyMap(t)
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = deepCopyValue(x)
		}
		return out
	default:
		return v
	}
}

// Batch is a group of events read together from one input.
type Batch []*Event

// Bytes returns the input bytes the batch's events came from.
func (b Batch) Bytes() int {
	n := 0
	for _, e := range b {
		n += e.InBytes
	}
	return n
}
