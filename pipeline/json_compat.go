package pipeline

import "github.com/auditship/auditship/internal/jsonbytes"

// The JSON byte code moved to internal/jsonbytes. These names stay for one step, as thin
// wrappers, so that branches built on them keep compiling; callers move to jsonbytes and
// then the wrappers go.

// ErrRepeatedKey is jsonbytes.ErrRepeatedKey.
var ErrRepeatedKey = jsonbytes.ErrRepeatedKey

// Kind is jsonbytes.Kind.
type Kind = jsonbytes.Kind

// The kinds, as jsonbytes names them.
const (
	KindAbsent = jsonbytes.KindAbsent
	KindNull   = jsonbytes.KindNull
	KindBool   = jsonbytes.KindBool
	KindNumber = jsonbytes.KindNumber
	KindString = jsonbytes.KindString
	KindArray  = jsonbytes.KindArray
	KindObject = jsonbytes.KindObject
)

// DecodeJSON is jsonbytes.Unmarshal.
func DecodeJSON(b []byte, v any) error { return jsonbytes.Unmarshal(b, v) }

// Walk is jsonbytes.Walk.
func Walk(v any, path []string) (any, bool) { return jsonbytes.Walk(v, path) }

// JSONEditMember is jsonbytes.EditMember.
func JSONEditMember(obj []byte, key string, edit func(val []byte) ([]byte, bool)) ([]byte, bool) {
	return jsonbytes.EditMember(obj, key, edit)
}

// JSONDeleteMember is jsonbytes.DeleteMember.
func JSONDeleteMember(obj []byte, key string) ([]byte, bool) {
	return jsonbytes.DeleteMember(obj, key)
}

// JSONEditElements is jsonbytes.EditElements.
func JSONEditElements(arr []byte, edit func(val []byte) ([]byte, bool)) ([]byte, bool) {
	return jsonbytes.EditElements(arr, edit)
}
