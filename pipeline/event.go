// Package pipeline holds the event model and the engine that moves batches of events from
// inputs through filters to outputs, acknowledging each batch back to its input only when
// every output that received it has delivered it.
package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
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
	// No key appears twice: scanObject declines lines that repeat one, and Settle
	// records top from such members (so nothing here is quadratic in the members).
	top []topField
	// fields holds decoded (and set) members; it is every member once full.
	fields map[string]any
	full   bool
	dirty  bool
	// mutated: MutableFields was called, so fields may differ from raw anywhere.
	mutated bool
	// set lists the members SetField replaced or added, for splicing and MayContain.
	set []string

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
	top, err := scanObject(raw)
	if err != nil {
		return nil, err
	}
	return &Event{raw: raw, top: top, Source: src, InBytes: len(raw)}, nil
}

// find returns the index of key's member (the last, as a repeated key's last value is
// the one that counts), or -1.
func (e *Event) find(key string) int {
	for i := len(e.top) - 1; i >= 0; i-- {
		if e.keyIs(&e.top[i], key) {
			if e.top[i].gone {
				return -1
			}
			return i
		}
	}
	return -1
}

// keyIs reports whether t's key is key, without allocating for a key without escapes.
func (e *Event) keyIs(t *topField, key string) bool {
	if !t.esc {
		return string(e.raw[t.ks+1:t.ke-1]) == key
	}
	k, err := decodeString(e.raw[t.ks:t.ke])
	return err == nil && k == key
}

// keyOf returns t's key.
func (e *Event) keyOf(t *topField) string {
	if !t.esc {
		return string(e.raw[t.ks+1 : t.ke-1])
	}
	k, _ := decodeString(e.raw[t.ks:t.ke])
	return k
}

// lookup is Field under e.mu.
func (e *Event) lookup(key string) (any, bool) {
	if v, ok := e.fields[key]; ok || e.full {
		if r, isRaw := v.(rawJSON); isRaw {
			// Edited as bytes (EditMember) and now read: from here on the decoded value
			// is the member's content, encoded when the event is written.
			v = decodeMember(r)
			e.fields[key] = v
		}
		return v, ok
	}
	i := e.find(key)
	if i < 0 {
		return nil, false
	}
	t := &e.top[i]
	v := decodeMember(e.raw[t.vs:t.ve])
	if c := e.raw[t.vs]; c != '{' && c != '[' {
		// A scalar is decoded again if read again: cheaper than a map to cache it in,
		// and nobody can change it in place.
		return v, true
	}
	if e.fields == nil {
		e.fields = make(map[string]any, 8) // filters read a handful of members
	}
	e.fields[key] = v
	return v, true
}

// decodeMember decodes a validated value; the input validated it, so failure is not
// expected, and encoding/json has the last word if it happens.
func decodeMember(b []byte) any {
	if n := len(b); n >= 2 && b[0] == '"' && bytes.IndexByte(b[1:n-1], '\\') < 0 {
		// Most values filters read are plain strings (verb, user.username): the bytes
		// between the quotes are the string (the input checked they are UTF-8).
		return string(b[1 : n-1])
	}
	v, err := decodeValue(b)
	if err != nil {
		_ = DecodeJSON(b, &v)
	}
	return v
}

// Field returns a top-level member for reading (nil when absent), decoding only it.
// Callers must not modify it unless they then hand it back with SetField (which writes
// that member anew), or call MutableFields (which re-encodes the whole event).
func (e *Event) Field(key string) any {
	e.mu.Lock()
	v, _ := e.lookup(key)
	e.mu.Unlock()
	return v
}

// Lookup is Field that also reports whether the member exists.
func (e *Event) Lookup(key string) (any, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lookup(key)
}

// Path returns the value at path: the top-level member path[0], then member path[1] of
// that object, and so on. Only the value at the end is decoded (nothing is cached), so a
// filter that reads user.username does not pay for user.groups and user.extra. ok is false
// when a step is missing or is not an object.
func (e *Event) Path(path ...string) (any, bool) {
	if len(path) == 0 {
		return nil, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(path) == 1 {
		return e.lookup(path[0])
	}
	if v, ok := e.fields[path[0]]; ok || e.full {
		// Decoded (or set) already: the map is the content.
		if !ok {
			return nil, false
		}
		if r, isRaw := v.(rawJSON); isRaw {
			return valueAt(r, path[1:])
		}
		return Walk(v, path[1:])
	}
	i := e.find(path[0])
	if i < 0 {
		return nil, false
	}
	return valueAt(e.raw[e.top[i].vs:e.top[i].ve], path[1:])
}

// PathSize returns the size in bytes of the JSON value at path (as Path finds it), as it
// would be written: the raw bytes of an unchanged member, or the encoding of a decoded one.
// It is 0 when the value is absent. Cost accounting (auditship analyze) uses it to price
// bodies and managedFields without decoding them.
func (e *Event) PathSize(path ...string) int {
	if len(path) == 0 {
		return 0
	}
	e.mu.Lock()
	if v, ok := e.fields[path[0]]; ok || e.full {
		e.mu.Unlock()
		if !ok {
			return 0
		}
		if r, isRaw := v.(rawJSON); isRaw {
			return rawSizeAt(r, path[1:])
		}
		w, ok := Walk(v, path[1:])
		if !ok {
			return 0
		}
		b, err := appendEncoded(nil, w)
		if err != nil {
			return 0
		}
		return len(b)
	}
	defer e.mu.Unlock()
	i := e.find(path[0])
	if i < 0 {
		return 0
	}
	return rawSizeAt(e.raw[e.top[i].vs:e.top[i].ve], path[1:])
}

func rawSizeAt(b []byte, path []string) int {
	for _, k := range path {
		var ok bool
		if b, ok = memberValue(b, k); !ok {
			return 0
		}
	}
	return len(b)
}

// valueAt decodes the value at path inside the JSON value b: Walk over bytes.
func valueAt(b []byte, path []string) (any, bool) {
	for _, k := range path {
		var ok bool
		if b, ok = memberValue(b, k); !ok {
			return nil, false
		}
	}
	return decodeMember(b), true
}

// Walk returns the value at path in v, a value as encoding/json decodes one: member
// path[0] of v, then member path[1] of that, and so on. ok is false when a step is
// missing or is not an object. It is Event.Path over a decoded event.
func Walk(v any, path []string) (any, bool) {
	for _, k := range path {
		m, isObj := v.(map[string]any)
		if !isObj {
			return nil, false
		}
		var ok bool
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// Strings reads several string members of the object at top-level member key in one
// pass: out[i] is member names[i] when it is a string, else "". It reports whether key
// is an object. (The policy reads five members of objectRef for every event.)
func (e *Event) Strings(key string, names []string, out []string) bool {
	for i := range out {
		out[i] = ""
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var b []byte
	if v, ok := e.fields[key]; ok || e.full {
		r, isRaw := v.(rawJSON)
		if !isRaw {
			m, isObj := v.(map[string]any)
			for i, n := range names {
				out[i], _ = m[n].(string)
			}
			return isObj
		}
		b = r
	} else {
		i := e.find(key)
		if i < 0 {
			return false
		}
		b = e.raw[e.top[i].vs:e.top[i].ve]
	}
	return eachMember(b, func(ks, ke, vs, ve int) bool {
		for i, n := range names {
			if keyEquals(b[ks:ke], n) {
				// A repeated key's last copy wins, as when decoding.
				out[i], _ = decodeMember(b[vs:ve]).(string)
			}
		}
		return true
	})
}

// Kind is the JSON type of a value.
type Kind uint8

// The kinds of Event.Kind; KindAbsent is a member the event does not have.
const (
	KindAbsent Kind = iota
	KindNull
	KindBool
	KindNumber
	KindString
	KindArray
	KindObject
)

// Kind returns the JSON type of the top-level member key without decoding it.
func (e *Event) Kind(key string) Kind {
	e.mu.Lock()
	defer e.mu.Unlock()
	if v, ok := e.fields[key]; ok || e.full {
		if !ok {
			return KindAbsent
		}
		if r, isRaw := v.(rawJSON); isRaw {
			return kindOfJSON(r[0])
		}
		return kindOf(v)
	}
	i := e.find(key)
	if i < 0 {
		return KindAbsent
	}
	return kindOfJSON(e.raw[e.top[i].vs])
}

// kindOfJSON is the kind of the JSON value that starts with c.
func kindOfJSON(c byte) Kind {
	switch c {
	case 'n':
		return KindNull
	case 't', 'f':
		return KindBool
	case '"':
		return KindString
	case '[':
		return KindArray
	case '{':
		return KindObject
	default:
		return KindNumber
	}
}

// kindOf returns the JSON type of v, a value as encoding/json decodes one.
func kindOf(v any) Kind {
	switch v.(type) {
	case nil:
		return KindNull
	case bool:
		return KindBool
	case string:
		return KindString
	case []any:
		return KindArray
	case map[string]any:
		return KindObject
	default:
		return KindNumber
	}
}

// UnknownKeys appends to dst the names of the event's top-level members that known
// does not hold, without decoding values or allocating for the names it holds, and
// returns it.
func (e *Event) UnknownKeys(known map[string]bool, dst []string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.full || e.top == nil {
		for k := range e.fields {
			if !known[k] {
				dst = append(dst, k)
			}
		}
		return dst
	}
	for i := range e.top {
		t := &e.top[i]
		if t.gone {
			continue
		}
		if !t.esc && known[string(e.raw[t.ks+1:t.ke-1])] {
			continue
		}
		if k := e.keyOf(t); !known[k] {
			dst = append(dst, k)
		}
	}
	for _, k := range e.set {
		if _, ok := e.fields[k]; ok && !known[k] && e.find(k) < 0 {
			dst = append(dst, k)
		}
	}
	return dst
}

// RawMember returns the JSON bytes of the top-level member key as read, or ok false when
// the event has no such member or it was changed (or the event has no bytes).
func (e *Event) RawMember(key string) ([]byte, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.top == nil {
		return nil, false
	}
	i := e.find(key)
	if i < 0 || e.top[i].set {
		return nil, false
	}
	return e.raw[e.top[i].vs:e.top[i].ve], true
}

// Has reports whether the event has the top-level member key, without decoding it.
func (e *Event) Has(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.fields[key]; ok || e.full {
		return ok
	}
	return e.find(key) >= 0
}

// complete decodes every member not decoded yet; under e.mu.
func (e *Event) complete() {
	if e.full {
		return
	}
	if e.fields == nil {
		e.fields = make(map[string]any, len(e.top))
	}
	for i := range e.top {
		t := &e.top[i]
		if t.gone {
			continue
		}
		key := e.keyOf(t)
		if _, ok := e.fields[key]; ok {
			continue
		}
		e.fields[key] = decodeMember(e.raw[t.vs:t.ve])
	}
	for k, v := range e.fields {
		if r, isRaw := v.(rawJSON); isRaw {
			e.fields[k] = decodeMember(r)
		}
	}
	e.full = true
}

// Fields returns the decoded event for reading. Callers must not modify it: use
// MutableFields for that, so the event is re-encoded on output.
func (e *Event) Fields() map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.complete()
	return e.fields
}

// MutableFields returns the decoded event and marks it changed.
func (e *Event) MutableFields() map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.complete()
	e.dirty = true
	e.mutated = true
	return e.fields
}

// DeleteField removes a top-level member; the others keep their original bytes.
func (e *Event) DeleteField(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, had := e.fields[key]
	delete(e.fields, key)
	for i := range e.top {
		if !e.top[i].gone && e.keyIs(&e.top[i], key) {
			e.top[i].gone = true
			had = true
		}
	}
	if had {
		e.dirty = true
	}
}

// SetField sets a top-level member to v (a value as DecodeJSON decodes one: numbers as
// json.Number, which is written as its text); the other members keep their original bytes.
func (e *Event) SetField(key string, v any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fields == nil {
		e.fields = make(map[string]any, 4) // filters set a member or two (level, a body)
	}
	e.fields[key] = v
	e.dirty = true
	for _, k := range e.set {
		if k == key {
			return
		}
	}
	e.markSet(key)
	e.set = append(e.set, key)
}

// EditMember replaces the value of the top-level member key by what edit makes of its JSON
// (valid JSON in, valid JSON out: see JSONEditMember), and reports whether edit changed
// it. The value is handed over as bytes: it is not decoded, and the event is written with
// the edited bytes spliced among the others'. A value set with SetField is encoded first.
func (e *Event) EditMember(key string, edit func(val []byte) ([]byte, bool)) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var cur []byte
	if v, ok := e.fields[key]; ok || e.full {
		if !ok {
			return false, nil
		}
		if r, isRaw := v.(rawJSON); isRaw {
			cur = r
		} else {
			b, err := appendEncoded(nil, v)
			if err != nil {
				return false, err
			}
			cur = b
		}
	} else {
		i := e.find(key)
		if i < 0 {
			return false, nil
		}
		cur = e.raw[e.top[i].vs:e.top[i].ve]
	}
	val, changed := edit(cur)
	if !changed {
		return false, nil
	}
	if len(val) == 0 {
		return false, fmt.Errorf("edit %s: no value", key)
	}
	var nv any = rawJSON(val)
	if e.full {
		nv = decodeMember(val) // the map is the content: keep it decoded
	}
	if e.fields == nil {
		e.fields = make(map[string]any, 4)
	}
	e.fields[key] = nv
	e.dirty = true
	for _, k := range e.set {
		if k == key {
			return true, nil
		}
	}
	e.markSet(key)
	e.set = append(e.set, key)
	return true, nil
}

// markSet flags the members key names as set, so that MayContain skips their old bytes
// without comparing keys.
func (e *Event) markSet(key string) {
	for i := range e.top {
		if e.keyIs(&e.top[i], key) {
			e.top[i].set = true
		}
	}
}

// rawJSON is a member value set as JSON bytes by EditMember: written as it is, decoded
// only if something reads it.
type rawJSON []byte

// MarshalJSON lets encoding/json write a rawJSON inside a map as the JSON it is.
func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// Dirty reports whether the event must be re-encoded rather than written as read.
func (e *Event) Dirty() bool { return e.dirty }

// Raw returns the original bytes, or nil when the event was changed or synthesised.
func (e *Event) Raw() []byte {
	if e.dirty {
		return nil
	}
	return e.raw
}

// MayContain reports whether the event as it is now may contain marker within one of its
// members (a key or a value, not across the punctuation between members). False is
// certain: the members still there lack it in their original bytes, and no change can
// have added it (set values are checked). It lets filters skip searching events that
// cannot hold what they look for, even after other filters changed them; the bodies a
// policy removed are not searched.
func (e *Event) MayContain(marker []byte) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mutated || e.raw == nil {
		return true
	}
	if e.top == nil {
		if bytes.Contains(e.raw, marker) {
			return true
		}
	} else {
		// Runs of members that are still there as read, each searched as one span; a
		// member that was set is searched in its new value below.
		asRead := func(i int) bool { return !e.top[i].gone && !e.top[i].set }
		for i := 0; i < len(e.top); {
			if !asRead(i) {
				i++
				continue
			}
			j := i
			for j+1 < len(e.top) && asRead(j+1) {
				j++
			}
			if bytes.Contains(e.raw[e.top[i].ks:e.top[j].ve], marker) {
				return true
			}
			i = j + 1
		}
	}
	// A set member is searched as it will be written: key, colon and value.
	var m []byte
	for _, k := range e.set {
		v, ok := e.fields[k]
		if !ok {
			continue // set, then deleted
		}
		switch v.(type) {
		case string, rawJSON:
		default:
			return true // a decoded object: not worth encoding to find out
		}
		var err error
		if m, err = appendEncoded(m[:0], k); err != nil {
			return true
		}
		m = append(m, ':')
		if m, err = appendEncoded(m, v); err != nil || bytes.Contains(m, marker) {
			return true
		}
	}
	return false
}

// MayHaveKey reports whether the event as it is now may have a member named key at any
// depth. False is certain: MayContain says no to the key's token and to every other
// spelling of it, which needs an escape (\u, or \/ for a slash). A filter that looks for a
// member by its name (managedFields) must not trust the plain token alone: a line may
// spell the key with escapes ("m\u0061nagedFields"), and encoding/json decodes that as
// the same key.
func (e *Event) MayHaveKey(key string) bool {
	if !plainASCII(key) {
		return true
	}
	tok := make([]byte, 0, len(key)+2)
	tok = append(append(append(tok, '"'), key...), '"')
	return e.MayContain(tok) || e.MayContain(escU) || strings.Contains(key, "/") && e.MayContain(escSlash)
}

var (
	escU     = []byte(`\u`)
	escSlash = []byte(`\/`)
)

// AppendJSON appends the event's JSON (no trailing newline) to dst.
func (e *Event) AppendJSON(dst []byte) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.dirty && e.raw != nil {
		return append(dst, e.raw...), nil
	}
	if e.mutated || e.top == nil {
		return appendEncoded(dst, e.fields)
	}
	return e.appendSpliced(dst, nil)
}

// appendSpliced writes the members in their original order, each as its original bytes
// unless it was set, then the members that were added. With rec it also records where
// each member went, as the top of the bytes written (offsets from len(dst) on entry).
func (e *Event) appendSpliced(dst []byte, rec *[]topField) ([]byte, error) {
	base := len(dst)
	dst = append(dst, '{')
	first := true
	var err error
	member := func(key []byte, esc bool, val func() error) error {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		ks := len(dst)
		dst = append(dst, key...)
		ke := len(dst)
		dst = append(dst, ':')
		vs := len(dst)
		if err := val(); err != nil {
			return err
		}
		if rec != nil {
			*rec = append(*rec, topField{ks: uint32(ks - base), ke: uint32(ke - base), vs: uint32(vs - base), ve: uint32(len(dst) - base), esc: esc})
		}
		return nil
	}
	isSet := func(t *topField) (string, bool) {
		for _, s := range e.set {
			if e.keyIs(t, s) {
				return s, true
			}
		}
		return "", false
	}
	for i := range e.top {
		t := &e.top[i]
		if t.gone {
			continue
		}
		k, set := isSet(t)
		err = member(e.raw[t.ks:t.ke], t.esc, func() error {
			if set {
				var err error
				dst, err = appendEncoded(dst, e.fields[k])
				return err
			}
			dst = append(dst, e.raw[t.vs:t.ve]...)
			return nil
		})
		if err != nil {
			return dst, err
		}
	}
	for _, k := range e.set {
		if e.find(k) >= 0 {
			continue
		}
		v, ok := e.fields[k]
		if !ok {
			continue // set, then deleted
		}
		tok, err := appendEncoded(nil, k)
		if err != nil {
			return dst, err
		}
		err = member(tok, bytes.IndexByte(tok, '\\') >= 0, func() error {
			var err error
			dst, err = appendEncoded(dst, v)
			return err
		})
		if err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// Settle makes the event's current content its bytes: a changed event is encoded once
// (spliced where it can be), and decoded members are let go; members are decoded again
// if something reads them. The engine settles every event the global filters keep, so
// the outputs (which may hold events for long, and may be several) share one encoding and
// hold the event as it will be written (without the bodies a policy removed, say), not as
// it was read. On an encoding error the event is left as it was.
func (e *Event) Settle() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case !e.dirty:
		if e.top != nil {
			e.fields, e.full = nil, false
		}
	case e.mutated || e.top == nil:
		b, err := appendEncoded(nil, e.fields)
		if err != nil {
			return err
		}
		// The map stays: it is the content, and there is no top to decode from.
		e.raw, e.top, e.set, e.dirty, e.mutated = b, nil, nil, false, false
	default:
		top := make([]topField, 0, len(e.top))
		buf := spliceBufs.Get().(*[]byte)
		b, err := e.appendSpliced((*buf)[:0], &top)
		if err != nil {
			spliceBufs.Put(buf)
			return err
		}
		// An exact copy: a changed event is mostly smaller than it was read (bodies
		// removed), and outputs may hold it for long. make+copy is not zeroed first.
		raw := make([]byte, len(b))
		copy(raw, b)
		if cap(b) <= 1<<20 { // a giant event's buffer is not kept around
			*buf = b[:0]
			spliceBufs.Put(buf)
		}
		e.raw, e.top, e.set, e.fields, e.full, e.dirty = raw, top, nil, nil, false, false
	}
	return nil
}

// spliceBufs recycles the scratch buffers Settle splices changed events into.
var spliceBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func appendEncoded(dst []byte, v any) ([]byte, error) {
	if r, ok := v.(rawJSON); ok {
		return append(dst, r...), nil
	}
	if s, ok := v.(string); ok && plainASCII(s) {
		// What filters set is mostly a short word (a level, a placeholder): encoding/json
		// writes it as is between quotes.
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"'), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, fmt.Errorf("encode event: %w", err)
	}
	out := buf.Bytes()
	return append(dst, out[:len(out)-1]...), nil
}

// plainASCII reports whether s is printable ASCII without a quote or backslash, which
// encoding/json (without HTML escaping) writes unchanged.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Clone returns a deep copy that can be changed without affecting e. Per-output filters
// work on clones so that one output's redaction never leaks into, or out of, another's.
func (e *Event) Clone() *Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &Event{
		raw: e.raw, top: append([]topField(nil), e.top...), fields: deepCopyMap(e.fields),
		full: e.full, dirty: e.dirty, mutated: e.mutated, set: append([]string(nil), e.set...),
		Source: e.Source, Input: e.Input, Redacted: e.Redacted, RemovedBodies: e.RemovedBodies, OutsideSchema: e.OutsideSchema, InBytes: e.InBytes,
	}
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

// OutBytes returns the size of the batch's events as written, one NDJSON line each
// (newline included, before any compression or envelope an output adds): what leaves the
// agent, against Bytes, what came in. A settled event costs nothing to measure; one a
// per-output filter changed since is encoded once more.
func (b Batch) OutBytes() int {
	n := 0
	var scratch []byte
	for _, e := range b {
		if raw := e.Raw(); raw != nil {
			n += len(raw) + 1
			continue
		}
		var err error
		if scratch, err = e.AppendJSON(scratch[:0]); err == nil {
			n += len(scratch) + 1
		}
	}
	return n
}
