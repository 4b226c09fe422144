package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// The decoding here works on JSON that was already validated (decode.Check, or
// encoding/json): it only has to find boundaries and build values, never to report
// syntax. Values come out exactly as encoding/json decodes them into an `any`: objects
// as map[string]any (a repeated key keeps its last value), arrays as []any, numbers as
// float64, strings unescaped the same way (escaped strings go through encoding/json).

// topField is one member of an event's top-level object, kept as its bytes until read.
type topField struct {
	key    string
	rawKey []byte // the key as written, quotes included
	val    []byte
	gone   bool // removed by DeleteField
}

var errNotObject = errors.New("not a JSON object")

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanTop splits a valid JSON object into its members without decoding their values.
func scanTop(b []byte) ([]topField, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errNotObject
	}
	i = skipSpace(b, i+1)
	out := make([]topField, 0, 24)
	if i < len(b) && b[i] == '}' {
		return out, nil
	}
	for i < len(b) {
		end, err := skipString(b, i)
		if err != nil {
			return nil, err
		}
		rawKey := b[i:end]
		key, err := decodeString(rawKey)
		if err != nil {
			return nil, err
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, errors.New("expected ':'")
		}
		i = skipSpace(b, i+1)
		vend, err := skipValue(b, i)
		if err != nil {
			return nil, err
		}
		out = append(out, topField{key: key, rawKey: rawKey, val: b[i:vend]})
		i = skipSpace(b, vend)
		if i >= len(b) {
			break
		}
		if b[i] == '}' {
			return out, nil
		}
		if b[i] != ',' {
			return nil, errors.New("expected ',' or '}'")
		}
		i = skipSpace(b, i+1)
	}
	return nil, errors.New("unexpected end of object")
}

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

// skipValue returns the index just past the value starting at b[i]. Nesting is tracked
// with a counter, not recursion.
func skipValue(b []byte, i int) (int, error) {
	depth := 0
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			end, err := skipString(b, i)
			if err != nil {
				return 0, err
			}
			i = end
		case c == '{' || c == '[':
			depth++
			i++
		case c == '}' || c == ']':
			depth--
			i++
			if depth < 0 {
				return 0, errors.New("unbalanced")
			}
		default:
			// A literal, a separator or space: scan to the next structural byte.
			j := i + 1
			for j < len(b) && b[j] != '"' && b[j] != '{' && b[j] != '[' && b[j] != '}' && b[j] != ']' && (depth > 0 || (b[j] != ',' && !isSpace(b[j]))) {
				j++
			}
			i = j
		}
		if depth == 0 {
			return i, nil
		}
	}
	return 0, errors.New("unexpected end of value")
}

// decodeString unquotes a JSON string token. Escapes are rare in keys and short values;
// encoding/json handles them so that invalid surrogates become U+FFFD exactly as there.
func decodeString(tok []byte) (string, error) {
	inner := tok[1 : len(tok)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return "", fmt.Errorf("string: %w", err)
	}
	return s, nil
}

// decodeValue decodes one valid JSON value as encoding/json does into an `any`.
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
		s, err := decodeString(b[d.i:end])
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
		f, err := strconv.ParseFloat(string(b[d.i:j]), 64)
		if err != nil {
			return nil, fmt.Errorf("number: %w", err)
		}
		d.i = j
		return f, nil
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
		k, err := decodeString(b[d.i:end])
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
