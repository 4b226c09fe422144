package jsonbytes

// Editing JSON in place, as bytes: a filter that removes one nested member (the policy's
// omitManagedFields removes metadata.managedFields from request and response bodies)
// would otherwise decode a whole body into maps and encode it again, which costs more
// than everything else the agent does to such an event. The functions take valid JSON
// (an event's validated bytes, or what encoding/json wrote) and keep it valid; the rest of
// the value keeps its bytes.

// member is one member of an object: the key token and value, as offsets.
type member struct{ ks, ke, vs, ve int }

// members lists the members of the object b, or ok false when b is not an object.
func members(b []byte) (ms []member, ok bool) {
	ok = EachMember(b, func(ks, ke, vs, ve int) bool {
		ms = append(ms, member{ks: ks, ke: ke, vs: vs, ve: ve})
		return true
	})
	return ms, ok
}

// EditMember applies edit to the value of member key of the object obj (to every copy
// of a repeated key) and returns the object with the edited value, and whether anything
// changed. An edit that returns nil removes the member.
func EditMember(obj []byte, key string, edit func(val []byte) ([]byte, bool)) ([]byte, bool) {
	ms, ok := members(obj)
	if !ok {
		return obj, false
	}
	changed := false
	out := obj
	// From the last member back, so earlier offsets stay valid as later ones change.
	for j := len(ms) - 1; j >= 0; j-- {
		m := ms[j]
		if !KeyEquals(out[m.ks:m.ke], key) {
			continue
		}
		val, ch := edit(out[m.vs:m.ve])
		if !ch {
			continue
		}
		changed = true
		var from, to int
		switch {
		case val != nil:
			from, to = m.vs, m.ve
		case j+1 < len(ms):
			from, to = m.ks, ms[j+1].ks // the member, its comma and the space before the next
		case j > 0:
			from, to = ms[j-1].ve, m.ve // the last member: the comma before it goes too
		default:
			from, to = m.ks, m.ve // the only member
		}
		next := make([]byte, 0, len(out)-(to-from)+len(val))
		next = append(next, out[:from]...)
		next = append(next, val...)
		next = append(next, out[to:]...)
		out = next
		if val == nil {
			// The member is gone: the one before it may now be the last.
			ms = ms[:j]
		}
	}
	return out, changed
}

// DeleteMember removes member key (every copy) from the object obj.
func DeleteMember(obj []byte, key string) ([]byte, bool) {
	return EditMember(obj, key, func([]byte) ([]byte, bool) { return nil, true })
}

// EditElements applies edit to each element of the array arr, and returns the array
// and whether anything changed. Elements cannot be removed.
func EditElements(arr []byte, edit func(val []byte) ([]byte, bool)) ([]byte, bool) {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return arr, false
	}
	var out []byte
	last := 0 // arr[last:] is not copied to out yet
	i = skipSpace(arr, i+1)
	for i < len(arr) && arr[i] != ']' {
		ve := skipValue(arr, i)
		if ve <= i {
			return arr, false
		}
		if val, ch := edit(arr[i:ve]); ch && val != nil {
			out = append(out, arr[last:i]...)
			out = append(out, val...)
			last = ve
		}
		i = skipSpace(arr, ve)
		if i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
	}
	if out == nil {
		return arr, false
	}
	return append(out, arr[last:]...), true
}
