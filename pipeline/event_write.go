package pipeline

import (
	"bytes"
	"sync"

	"github.com/auditship/auditship/internal/jsonbytes"
)

// MayContain reports whether the event as it is now may contain marker within one of its
// members (a key or a value, not across the punctuation between members). False is
// certain: the members still there lack it in their original bytes, and no change can
// have added it (set values are checked). It lets filters skip searching events that
// cannot hold what they look for, even after other filters changed them; the bodies a
// policy removed are not searched.
func (e *Event) MayContain(marker []byte) bool {
	return e.mayMatch(func(b []byte) bool { return bytes.Contains(b, marker) })
}

// MayContainAny is MayContain for several markers at once: true when the event may
// contain any of them. It reads the event's bytes once (see Markers), where calling
// MayContain per marker reads them once per marker.
// A nil m (KeyMarkers of a key it cannot spell out) may match anything.
func (e *Event) MayContainAny(m *Markers) bool {
	if m == nil {
		return true
	}
	return e.mayMatch(m.In)
}

// mayMatch reports whether match may say yes to one of the event's members as it is now:
// the runs of members still there as read, and each set member as it will be written.
func (e *Event) mayMatch(match func([]byte) bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mutated || e.raw == nil {
		return true
	}
	if e.top == nil {
		if match(e.raw) {
			return true
		}
	} else {
		// Runs of members that are still there as read, each searched as one span; a
		// member that was set is searched in its new value below.
		asRead := func(i int) bool { return e.top[i].Flags&(memberGone|memberSet) == 0 }
		for i := 0; i < len(e.top); {
			if !asRead(i) {
				i++
				continue
			}
			j := i
			for j+1 < len(e.top) && asRead(j+1) {
				j++
			}
			if match(e.raw[e.top[i].KeyStart:e.top[j].ValueEnd]) {
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
		case string, jsonbytes.Raw:
		default:
			return true // a decoded object: not worth encoding to find out
		}
		var err error
		if m, err = jsonbytes.Append(m[:0], k); err != nil {
			return true
		}
		m = append(m, ':')
		if m, err = jsonbytes.Append(m, v); err != nil || match(m) {
			return true
		}
	}
	return false
}

// MayHaveKey reports whether the event as it is now may have a member named key at any
// depth. False is certain: no member holds the key's token or any other spelling of it,
// which needs an escape (\u, or \/ for a slash). A filter that looks for a member by its
// name (managedFields) must not trust the plain token alone: a line may spell the key with
// escapes ("m\u0061nagedFields"), and encoding/json decodes that as the same key. A filter
// asking per event should build KeyMarkers(key) once and call MayContainAny.
func (e *Event) MayHaveKey(key string) bool { return e.MayContainAny(KeyMarkers(key)) }

// AppendJSON appends the event's JSON (no trailing newline) to dst.
func (e *Event) AppendJSON(dst []byte) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.dirty && e.raw != nil {
		return append(dst, e.raw...), nil
	}
	if e.mutated || e.top == nil {
		return jsonbytes.Append(dst, e.fields)
	}
	return e.appendSpliced(dst, nil)
}

// appendSpliced writes the members in their original order, each as its original bytes
// unless it was set, then the members that were added. With rec it also records where
// each member went, as the top of the bytes written (offsets from len(dst) on entry).
func (e *Event) appendSpliced(dst []byte, rec *[]jsonbytes.Member) ([]byte, error) {
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
			*rec = append(*rec, jsonbytes.Member{KeyStart: uint32(ks - base), KeyEnd: uint32(ke - base), ValueStart: uint32(vs - base), ValueEnd: uint32(len(dst) - base), Escaped: esc})
		}
		return nil
	}
	isSet := func(t *jsonbytes.Member) (string, bool) {
		for _, s := range e.set {
			if e.keyIs(t, s) {
				return s, true
			}
		}
		return "", false
	}
	for i := range e.top {
		t := &e.top[i]
		if gone(t) {
			continue
		}
		k, set := isSet(t)
		err = member(e.raw[t.KeyStart:t.KeyEnd], t.Escaped, func() error {
			if set {
				var err error
				dst, err = jsonbytes.Append(dst, e.fields[k])
				return err
			}
			dst = append(dst, e.raw[t.ValueStart:t.ValueEnd]...)
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
		tok, err := jsonbytes.Append(nil, k)
		if err != nil {
			return dst, err
		}
		err = member(tok, bytes.IndexByte(tok, '\\') >= 0, func() error {
			var err error
			dst, err = jsonbytes.Append(dst, v)
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
		b, err := jsonbytes.Append(nil, e.fields)
		if err != nil {
			return err
		}
		// The map stays: it is the content, and there is no top to decode from.
		e.raw, e.top, e.set, e.dirty, e.mutated = b, nil, nil, false, false
	default:
		top := make([]jsonbytes.Member, 0, len(e.top))
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
