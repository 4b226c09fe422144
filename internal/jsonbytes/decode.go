package jsonbytes

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Value decodes b, a validated JSON value (a member ScanObject located, or what
// encoding/json wrote), as encoding/json decodes one into an `any` with UseNumber: objects
// as map[string]any, arrays as []any, numbers as json.Number, strings unescaped. Failure
// is not expected for such input, and encoding/json has the last word if it happens.
func Value(b []byte) any {
	if n := len(b); n >= 2 && b[0] == '"' && bytes.IndexByte(b[1:n-1], '\\') < 0 {
		// Most values filters read are plain strings (verb, user.username): the bytes
		// between the quotes are the string (the validator checked they are UTF-8).
		return string(b[1 : n-1])
	}
	v, err := decodeValue(b)
	if err != nil {
		_ = Unmarshal(b, &v)
	}
	return v
}

// Unmarshal is json.Unmarshal(b, v) with numbers decoded as json.Number, the literal
// text: the decoding every event path uses, so that a number is written out with the
// digits it was read with (9007199254740993 does not become 9007199254740992 through a
// float64, nor 1.0 become 1). It accepts and rejects exactly what json.Unmarshal does, with
// json.Unmarshal's errors (a *json.SyntaxError for bad JSON), except that a number out of
// float64's range (1e400) is valid, not an *json.UnmarshalTypeError.
func Unmarshal(b []byte, v any) error {
	if !json.Valid(b) {
		// json.Unmarshal checks the whole input first, so this returns its syntax error
		// without decoding anything.
		return json.Unmarshal(b, v)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v) // b is one valid value: nothing can follow it
}

// decodeValue decodes one valid JSON value as encoding/json does into an `any` with
// UseNumber.
func decodeValue(b []byte) (any, error) {
	d := valueDecoder{b: b}
	d.i = skipSpace(b, 0)
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	return v, nil
}

type valueDecoder struct {
	b []byte
	i int
}

func (d *valueDecoder) value() (any, error) {
	b := d.b
	if d.i >= len(b) {
		return nil, errors.New("unexpected end of value")
	}
	switch c := b[d.i]; c {
	case '{':
		return d.object()
	case '[':
		return d.array()
	case '"':
		end, err := skipString(b, d.i)
		if err != nil {
			return nil, err
		}
		s, err := Unquote(b[d.i:end])
		d.i = end
		return s, err
	case 't':
		d.i += len("true")
		return true, nil
	case 'f':
		d.i += len("false")
		return false, nil
	case 'n':
		d.i += len("null")
		return nil, nil
	default:
		j := d.i + 1
		for j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] == '.' || b[j] == 'e' || b[j] == 'E' || b[j] == '+' || b[j] == '-') {
			j++
		}
		if j == d.i+1 && (c < '0' || c > '9') {
			return nil, errors.New("invalid number")
		}
		n := json.Number(b[d.i:j]) // the literal text: see scan.go
		d.i = j
		return n, nil
	}
}

func (d *valueDecoder) object() (any, error) {
	b := d.b
	m := make(map[string]any)
	d.i = skipSpace(b, d.i+1)
	if d.i < len(b) && b[d.i] == '}' {
		d.i++
		return m, nil
	}
	for {
		end, err := skipString(b, d.i)
		if err != nil {
			return nil, err
		}
		k, err := Unquote(b[d.i:end])
		if err != nil {
			return nil, err
		}
		d.i = skipSpace(b, end)
		d.i = skipSpace(b, d.i+1) // the colon
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		m[k] = v
		d.i = skipSpace(b, d.i)
		if d.i >= len(b) {
			return nil, errors.New("unexpected end of object")
		}
		if b[d.i] == '}' {
			d.i++
			return m, nil
		}
		d.i = skipSpace(b, d.i+1) // the comma
	}
}

func (d *valueDecoder) array() (any, error) {
	b := d.b
	a := make([]any, 0, 4)
	d.i = skipSpace(b, d.i+1)
	if d.i < len(b) && b[d.i] == ']' {
		d.i++
		return a, nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.i = skipSpace(b, d.i)
		if d.i >= len(b) {
			return nil, errors.New("unexpected end of array")
		}
		if b[d.i] == ']' {
			d.i++
			return a, nil
		}
		d.i = skipSpace(b, d.i+1)
	}
}
