package jsonbytes

// Kind is the JSON type of a value.
type Kind uint8

// The kinds; KindAbsent is a member a value does not have.
const (
	KindAbsent Kind = iota
	KindNull
	KindBool
	KindNumber
	KindString
	KindArray
	KindObject
)

// KindAt returns the kind of the valid JSON value b, from its first byte (KindAbsent for
// an empty b).
func KindAt(b []byte) Kind {
	if len(b) == 0 {
		return KindAbsent
	}
	switch b[0] {
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

// KindOf returns the JSON type of v, a value as Value decodes one.
func KindOf(v any) Kind {
	switch t := v.(type) {
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
	case Raw:
		return KindAt(t)
	default:
		return KindNumber
	}
}

// Walk returns the value at path in v, a value as Value decodes one: member path[0] of v,
// then member path[1] of that, and so on. ok is false when a step is missing or is not an
// object. It is ValueAt over a decoded value.
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
