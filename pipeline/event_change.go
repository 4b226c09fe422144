package pipeline

import (
	"fmt"

	"github.com/auditship/auditship/internal/jsonbytes"
)

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
		if gone(t) {
			continue
		}
		key := e.keyOf(t)
		if _, ok := e.fields[key]; ok {
			continue
		}
		e.fields[key] = jsonbytes.Value(e.raw[t.ValueStart:t.ValueEnd])
	}
	for k, v := range e.fields {
		if r, isRaw := v.(jsonbytes.Raw); isRaw {
			e.fields[k] = jsonbytes.Value(r)
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
	e.header = nil
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
		if !gone(&e.top[i]) && e.keyIs(&e.top[i], key) {
			e.top[i].Flags |= memberGone
			had = true
		}
	}
	if had {
		e.dirty = true
		e.header = nil
	}
}

// SetField sets a top-level member to v (a value as jsonbytes.Value decodes one: numbers as
// json.Number, which is written as its text); the other members keep their original bytes.
func (e *Event) SetField(key string, v any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fields == nil {
		e.fields = make(map[string]any, 4) // filters set a member or two (level, a body)
	}
	e.fields[key] = v
	e.dirty = true
	e.header = nil
	for _, k := range e.set {
		if k == key {
			return
		}
	}
	e.markSet(key)
	e.set = append(e.set, key)
}

// EditMember replaces the value of the top-level member key by what edit makes of its JSON
// (valid JSON in, valid JSON out: see jsonbytes.EditMember), and reports whether edit changed
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
		if r, isRaw := v.(jsonbytes.Raw); isRaw {
			cur = r
		} else {
			b, err := jsonbytes.Append(nil, v)
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
		cur = e.raw[e.top[i].ValueStart:e.top[i].ValueEnd]
	}
	val, changed := edit(cur)
	if !changed {
		return false, nil
	}
	if len(val) == 0 {
		return false, fmt.Errorf("edit %s: no value", key)
	}
	var nv any = jsonbytes.Raw(val)
	if e.full {
		nv = jsonbytes.Value(val) // the map is the content: keep it decoded
	}
	if e.fields == nil {
		e.fields = make(map[string]any, 4)
	}
	e.fields[key] = nv
	e.dirty = true
	e.header = nil
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
			e.top[i].Flags |= memberSet
		}
	}
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

// Clone returns a deep copy that can be changed without affecting e. Per-output filters
// work on clones so that one output's redaction never leaks into, or out of, another's.
func (e *Event) Clone() *Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &Event{
		raw: e.raw, top: append([]jsonbytes.Member(nil), e.top...), fields: deepCopyMap(e.fields),
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
