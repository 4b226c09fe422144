package jsonbytes

import (
	"bytes"
	"errors"
)

// skipString returns the index just past the string starting at b[i] (a quote). Strings
// rarely hold escapes, so it looks for the next quote and only then checks whether an odd
// run of backslashes escapes it.
func skipString(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return 0, errors.New("expected string")
	}
	i++
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return 0, errors.New("unterminated string")
		}
		i += j
		n := 0
		for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i, nil
		}
	}
}

// MemberValue returns the bytes of member key of b, a valid JSON value (validated, or
// written by encoding/json), when b is an object that has it. A repeated key's last copy
// is the one encoding/json decodes, so that is the one returned.
func MemberValue(b []byte, key string) ([]byte, bool) {
	var found []byte
	EachMember(b, func(ks, ke, vs, ve int) bool {
		if KeyEquals(b[ks:ke], key) {
			found = b[vs:ve]
		}
		return true
	})
	return found, found != nil
}

// ValueAt returns the bytes of the value at path inside the valid JSON value b: member
// path[0] of b, then member path[1] of that, and so on (b itself for an empty path). ok is
// false when a step is missing or is not an object.
func ValueAt(b []byte, path []string) ([]byte, bool) {
	for _, k := range path {
		var ok bool
		if b, ok = MemberValue(b, k); !ok {
			return nil, false
		}
	}
	return b, true
}

// EachMember calls fn with the offsets of each member's key token and value in the object
// b, in order, until fn returns false. It returns false when b is not an object (or stops
// being one part way: the members before that were seen).
func EachMember(b []byte, fn func(ks, ke, vs, ve int) bool) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] == '"' {
		ke, err := skipString(b, i)
		if err != nil {
			return false
		}
		c := skipSpace(b, ke)
		if c >= len(b) || b[c] != ':' {
			return false
		}
		vs := skipSpace(b, c+1)
		ve := skipValue(b, vs)
		if ve <= vs {
			return false
		}
		if !fn(i, ke, vs, ve) {
			return true
		}
		i = skipSpace(b, ve)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return true
}

// KeyEquals reports whether the string token tok (quotes included) spells key.
func KeyEquals(tok []byte, key string) bool {
	inner := tok[1 : len(tok)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == key
	}
	k, err := Unquote(tok)
	return err == nil && k == key
}

// skipValue returns the index just past the valid JSON value starting at b[i], or i when
// there is none.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		end, err := skipString(b, i)
		if err != nil {
			return i
		}
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return i
				}
				j = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
			j++
		}
		return i
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && !isSpace(b[j]) {
			j++
		}
		return j
	}
}
