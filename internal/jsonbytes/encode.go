package jsonbytes

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Raw is a JSON value kept as its bytes inside a decoded value (a member edited as bytes
// and not read since): Append writes it as it is, and so does encoding/json.
type Raw []byte

// MarshalJSON lets encoding/json write a Raw inside a map as the JSON it is.
func (r Raw) MarshalJSON() ([]byte, error) { return r, nil }

// Append appends v, a value as Value decodes one (or a Raw), encoded as encoding/json
// encodes it without HTML escaping, to dst. The error is encoding/json's, wrapped.
func Append(dst []byte, v any) ([]byte, error) {
	if r, ok := v.(Raw); ok {
		return append(dst, r...), nil
	}
	if s, ok := v.(string); ok && PlainASCII(s) {
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

// PlainASCII reports whether s is printable ASCII without a quote or backslash, which
// encoding/json (without HTML escaping) writes unchanged.
func PlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
