// Package pipeline holds the event model and the engine that moves batches of events from
// inputs through filters to outputs, acknowledging each batch back to its input only when
// every output that received it has delivered it.
package pipeline

import (
	"sync"

	"github.com/auditship/auditship/internal/jsonbytes"
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
//
// An event read from a line is decoded lazily: its top-level members are located once,
// and a member's value is decoded only when something reads it (Field), so filters that
// look at verb, user and objectRef never pay for the request and response bodies. Fields
// decodes the rest. Removing or setting a top-level member (DeleteField, SetField) keeps
// the other members' bytes, so such an event is written as its original members spliced
// with the changed ones; only an event changed through MutableFields is re-encoded whole.
type Event struct {
	mu  sync.Mutex // guards lazy decoding: outputs may read one event concurrently
	raw []byte
	// top is the top-level members of raw, in order; nil for an event built from a map.
	// No key appears twice: jsonbytes.ScanObject declines lines that repeat one, and Settle
	// records top from such members (so nothing here is quadratic in the members).
	top []jsonbytes.Member
	// fields holds decoded (and set) members; it is every member once full.
	fields map[string]any
	full   bool
	dirty  bool
	// mutated: MutableFields was called, so fields may differ from raw anywhere.
	mutated bool
	// set lists the members SetField replaced or added, for splicing and MayContain.
	set []string
	// header is the audit header (Header) once asked for; dropped by every change.
	header *Header

	// Source is the format the event was decoded from.
	Source Source
	// Input is the name of the configured input the event was read from (InputSpec.Name);
	// the engine sets it once per batch, before filters and outputs see the event.
	// Empty for an event that did not come through an engine.
	Input string
	// Redacted counts the fields redaction filters replaced or removed in this event; the
	// engine attributes the increase to the filter that made it.
	Redacted int
	// OutsideSchema counts the top-level members the decoder removed because the audit
	// Event type has no such member.
	OutsideSchema int
	// RemovedBodies counts the request/response bodies redaction filters removed whole
	// (not understood, so not kept in part), apart from Redacted.
	RemovedBodies int
	// InBytes is the size of the input this event came from (its share of the line).
	InBytes int
}

// NewEvent returns an event decoded from raw. When raw is nil the event has no original
// bytes (it was synthesised, as for kube-audit-rest) and is encoded from its fields.
func NewEvent(raw []byte, fields map[string]any, src Source) *Event {
	return &Event{raw: raw, fields: fields, full: true, dirty: raw == nil, mutated: raw == nil, Source: src, InBytes: len(raw)}
}

// NewRawEvent returns an event over raw, a JSON object; its values are decoded when first
// read. It validates raw (grammar and UTF-8) in the same pass that locates its members,
// and returns an error for anything it cannot decode exactly as encoding/json would: the
// caller then decodes raw with encoding/json.
func NewRawEvent(raw []byte, src Source) (*Event, error) {
	top, err := jsonbytes.ScanObject(raw)
	if err != nil {
		return nil, err
	}
	return &Event{raw: raw, top: top, Source: src, InBytes: len(raw)}, nil
}

// Flags an event keeps in its members' jsonbytes.Member.Flags.
const (
	memberGone uint8 = 1 << iota // removed by DeleteField
	memberSet                    // given a new value by SetField or EditMember (in Event.set)
)

// gone reports whether t was removed by DeleteField.
func gone(t *jsonbytes.Member) bool { return t.Flags&memberGone != 0 }

// find returns the index of key's member (the last, as a repeated key's last value is
// the one that counts), or -1.
func (e *Event) find(key string) int {
	for i := len(e.top) - 1; i >= 0; i-- {
		if e.keyIs(&e.top[i], key) {
			if gone(&e.top[i]) {
				return -1
			}
			return i
		}
	}
	return -1
}

// keyIs reports whether t's key is key, without allocating for a key without escapes.
func (e *Event) keyIs(t *jsonbytes.Member, key string) bool {
	if !t.Escaped {
		return string(e.raw[t.KeyStart+1:t.KeyEnd-1]) == key
	}
	k, err := jsonbytes.Unquote(e.raw[t.KeyStart:t.KeyEnd])
	return err == nil && k == key
}

// keyOf returns t's key.
func (e *Event) keyOf(t *jsonbytes.Member) string {
	if !t.Escaped {
		return string(e.raw[t.KeyStart+1 : t.KeyEnd-1])
	}
	k, _ := jsonbytes.Unquote(e.raw[t.KeyStart:t.KeyEnd])
	return k
}
