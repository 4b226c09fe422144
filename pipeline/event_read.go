package pipeline

import (
	"github.com/auditship/auditship/internal/jsonbytes"
)

// lookup is Field under e.mu.
func (e *Event) lookup(key string) (any, bool) {
	if v, ok := e.fields[key]; ok || e.full {
		if r, isRaw := v.(jsonbytes.Raw); isRaw {
			// Edited as bytes (EditMember) and now read: from here on the decoded value
			// is the member's content, encoded when the event is written.
			v = jsonbytes.Value(r)
			e.fields[key] = v
		}
		return v, ok
	}
	i := e.find(key)
	if i < 0 {
		return nil, false
	}
	t := &e.top[i]
	v := jsonbytes.Value(e.raw[t.ValueStart:t.ValueEnd])
	if c := e.raw[t.ValueStart]; c != '{' && c != '[' {
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
	return e.path(path)
}

// path is Path under e.mu, for a path of two steps or more: nothing is kept decoded.
func (e *Event) path(path []string) (any, bool) {
	if v, ok := e.fields[path[0]]; ok || e.full {
		// Decoded (or set) already: the map is the content.
		if !ok {
			return nil, false
		}
		if r, isRaw := v.(jsonbytes.Raw); isRaw {
			return valueAt(r, path[1:])
		}
		return jsonbytes.Walk(v, path[1:])
	}
	i := e.find(path[0])
	if i < 0 {
		return nil, false
	}
	return valueAt(e.raw[e.top[i].ValueStart:e.top[i].ValueEnd], path[1:])
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
		if r, isRaw := v.(jsonbytes.Raw); isRaw {
			return rawSizeAt(r, path[1:])
		}
		w, ok := jsonbytes.Walk(v, path[1:])
		if !ok {
			return 0
		}
		b, err := jsonbytes.Append(nil, w)
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
	return rawSizeAt(e.raw[e.top[i].ValueStart:e.top[i].ValueEnd], path[1:])
}

func rawSizeAt(b []byte, path []string) int {
	v, ok := jsonbytes.ValueAt(b, path)
	if !ok {
		return 0
	}
	return len(v)
}

// valueAt decodes the value at path inside the JSON value b: Walk over bytes.
func valueAt(b []byte, path []string) (any, bool) {
	v, ok := jsonbytes.ValueAt(b, path)
	if !ok {
		return nil, false
	}
	return jsonbytes.Value(v), true
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
	return e.strings(key, names, out)
}

// strings is Strings under e.mu, with out cleared.
func (e *Event) strings(key string, names []string, out []string) bool {
	var b []byte
	if v, ok := e.fields[key]; ok || e.full {
		r, isRaw := v.(jsonbytes.Raw)
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
		b = e.raw[e.top[i].ValueStart:e.top[i].ValueEnd]
	}
	return jsonbytes.EachMember(b, func(ks, ke, vs, ve int) bool {
		for i, n := range names {
			if jsonbytes.KeyEquals(b[ks:ke], n) {
				// A repeated key's last copy wins, as when decoding.
				out[i], _ = jsonbytes.Value(b[vs:ve]).(string)
			}
		}
		return true
	})
}

// Kind returns the JSON type of the top-level member key without decoding it.
func (e *Event) Kind(key string) jsonbytes.Kind {
	e.mu.Lock()
	defer e.mu.Unlock()
	if v, ok := e.fields[key]; ok || e.full {
		if !ok {
			return jsonbytes.KindAbsent
		}
		if r, isRaw := v.(jsonbytes.Raw); isRaw {
			return jsonbytes.KindAt(r)
		}
		return jsonbytes.KindOf(v)
	}
	i := e.find(key)
	if i < 0 {
		return jsonbytes.KindAbsent
	}
	return jsonbytes.KindAt(e.raw[e.top[i].ValueStart:e.top[i].ValueEnd])
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
		if gone(t) {
			continue
		}
		if !t.Escaped && known[string(e.raw[t.KeyStart+1:t.KeyEnd-1])] {
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
	if i < 0 || e.top[i].Flags&memberSet != 0 {
		return nil, false
	}
	return e.raw[e.top[i].ValueStart:e.top[i].ValueEnd], true
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
