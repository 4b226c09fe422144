package pipeline

import (
	"bytes"
	"encoding/json"
)

// DecodeJSON is json.Unmarshal(b, v) with numbers decoded as json.Number, the literal
// text: the decoding every event path uses, so that a number is written out with the
// digits it was read with (9007199254740993 does not become 9007199254740992 through a
// float64, nor 1.0 become 1). It accepts and rejects exactly what json.Unmarshal does, with
// json.Unmarshal's errors (a *json.SyntaxError for bad JSON), except that a number out of
// float64's range (1e400) is valid, not an *json.UnmarshalTypeError.
func DecodeJSON(b []byte, v any) error {
	if !json.Valid(b) {
		// json.Unmarshal checks the whole input first, so this returns its syntax error
		// without decoding anything.
		return json.Unmarshal(b, v)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v) // b is one valid value: nothing can follow it
}
