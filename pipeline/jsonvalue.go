package pipeline

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Lines are checked and split in one pass (scanObject): a validator for the JSON grammar
// that records the top-level members as it goes. Values are decoded later, only when read,
// exactly as encoding/json decodes them into an `any`: objects as map[string]any (a
// repeated key keeps its last value), arrays as []any, numbers as float64, strings
// unescaped the same way (escaped strings go through encoding/json).
//
// The fast path vouches only for what it can decode exactly as encoding/json would; it
// declines (errDecline) lines nested deeper than fastMaxDepth and numbers with an exponent
// or more than 300 digits (they may overflow float64, which encoding/json rejects), and
// the caller hands those to encoding/json, which decides. A line it declines for a syntax
// error is rejected by encoding/json too, with encoding/json's message.

// topField is one member of an event's top-level object, as offsets into the event's
// bytes: the key token (quotes included) and the value. Offsets rather than slices or a
// decoded key keep an event small and free of pointers for the garbage collector.
type topField struct {
	ks, ke, vs, ve uint32
	esc            bool // the key holds escapes, so it must be decoded to be compared
	gone           bool // removed by DeleteField
}

// errDecline: the fast path does not vouch for this line (see above).
var errDecline = errors.New("not a JSON object the fast path decodes")

// ErrRepeatedKey: an object of the line repeats a key (or has a key with escapes, which
// might spell a repeat). Decoding keeps the last copy, so the line's bytes hold content the
// decoded event does not show: such an event must never be written as its original bytes,
// or a filter that redacted what it saw would ship what it could not see.
var ErrRepeatedKey = errors.New("an object repeats a key")

// fastMaxDepth bounds the nesting the fast path takes (the validator recurses); real audit
// events nest a few dozen levels at most.
const fastMaxDepth = 200

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanObject validates b as one JSON object (b must be valid UTF-8) and returns its
// members, or errDecline.
func scanObject(b []byte) ([]topField, error) {
	if len(b) > math.MaxUint32 {
		return nil, errDecline
	}
	buf := keyBufs.Get().(*[]keySpan)
	v := validator{b: b, i: skipSpace(b, 0), keys: (*buf)[:0]}
	defer func() {
		*buf = v.keys[:0]
		keyBufs.Put(buf)
	}()
	if v.i >= len(b) || b[v.i] != '{' {
		return nil, errDecline
	}
	out := make([]topField, 0, 24)
	v.i = skipSpace(b, v.i+1)
	if v.i < len(b) && b[v.i] == '}' {
		v.i++
	} else {
		for {
			ks := v.i
			if !v.str() {
				return nil, errDecline
			}
			ke := v.i
			v.i = skipSpace(b, v.i)
			if v.i >= len(b) || b[v.i] != ':' {
				return nil, errDecline
			}
			v.i = skipSpace(b, v.i+1)
			vs := v.i
			if !v.value() {
				if v.repeated {
					return nil, ErrRepeatedKey
				}
				return nil, errDecline
			}
			esc := bytes.IndexByte(b[ks:ke], '\\') >= 0
			for _, t := range out {
				if esc || t.esc || bytes.Equal(b[t.ks:t.ke], b[ks:ke]) {
					return nil, ErrRepeatedKey
				}
			}
			out = append(out, topField{ks: uint32(ks), ke: uint32(ke), vs: uint32(vs), ve: uint32(v.i), esc: esc})
			v.i = skipSpace(b, v.i)
			if v.i >= len(b) {
				return nil, errDecline
			}
			if b[v.i] == '}' {
				v.i++
				break
			}
			if b[v.i] != ',' {
				return nil, errDecline
			}
			v.i = skipSpace(b, v.i+1)
		}
	}
	if skipSpace(b, v.i) != len(b) {
		return nil, errDecline
	}
	return out, nil
}

// validator checks the JSON grammar (RFC 8259) from b[i]; each method leaves i just past
// what it accepted.
type validator struct {
	b     []byte
	i     int
	depth int
	// keys holds the key tokens of the objects being validated, innermost last; an
	// object checks each key against its own (from the index it started at).
	keys     []keySpan
	repeated bool
}

// keyBufs recycles validators' key buffers: one per line would be garbage on the hot path.
var keyBufs = sync.Pool{New: func() any { b := make([]keySpan, 0, 64); return &b }}

type keySpan struct{ s, e int }

// newKey records the key token b[s:e] of the object whose keys start at keys[from], and
// fails on a repeat. A key with escapes fails too: comparing it would need decoding, and
// audit events have none.
func (v *validator) newKey(from, s, e int) bool {
	k := v.b[s:e]
	if bytes.IndexByte(k, '\\') >= 0 {
		v.repeated = true
		return false
	}
	for _, o := range v.keys[from:] {
		if o.e-o.s == e-s && bytes.Equal(v.b[o.s:o.e], k) {
			v.repeated = true
			return false
		}
	}
	v.keys = append(v.keys, keySpan{s, e})
	return true
}

func (v *validator) value() bool {
	if v.i >= len(v.b) {
		return false
	}
	switch c := v.b[v.i]; c {
	case '{':
		return v.object()
	case '[':
		return v.array()
	case '"':
		return v.str()
	case 't':
		return v.literal("true")
	case 'f':
		return v.literal("false")
	case 'n':
		return v.literal("null")
	default:
		return v.number()
	}
}

func (v *validator) literal(lit string) bool {
	if !bytes.HasPrefix(v.b[v.i:], []byte(lit)) {
		return false
	}
	v.i += len(lit)
	return true
}

func (v *validator) object() bool {
	if v.depth++; v.depth > fastMaxDepth {
		return false
	}
	b := v.b
	from := len(v.keys)
	v.i = skipSpace(b, v.i+1)
	if v.i < len(b) && b[v.i] == '}' {
		v.i++
		v.depth--
		v.keys = v.keys[:from]
		return true
	}
	for {
		ks := v.i
		if !v.str() {
			return false
		}
		if !v.newKey(from, ks, v.i) {
			return false
		}
		v.i = skipSpace(b, v.i)
		if v.i >= len(b) || b[v.i] != ':' {
			return false
		}
		v.i = skipSpace(b, v.i+1)
		if !v.value() {
			return false
		}
		v.i = skipSpace(b, v.i)
		if v.i >= len(b) {
			return false
		}
		switch b[v.i] {
		case ',':
			v.i = skipSpace(b, v.i+1)
		case '}':
			v.i++
			v.depth--
			v.keys = v.keys[:from]
			return true
		default:
			return false
		}
	}
}

func (v *validator) array() bool {
	if v.depth++; v.depth > fastMaxDepth {
		return false
	}
	b := v.b
	v.i = skipSpace(b, v.i+1)
	if v.i < len(b) && b[v.i] == ']' {
		v.i++
		v.depth--
		return true
	}
	for {
		if !v.value() {
			return false
		}
		v.i = skipSpace(b, v.i)
		if v.i >= len(b) {
			return false
		}
		switch b[v.i] {
		case ',':
			v.i = skipSpace(b, v.i+1)
		case ']':
			v.i++
			v.depth--
			return true
		default:
			return false
		}
	}
}

// plain marks the bytes a string holds as they are: not a quote, a backslash or a
// control character (which JSON requires escaped).
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special8 reports whether any of the eight bytes in x is a quote, a backslash or a
// control character (the classic SWAR tests for a zero byte and for a byte below n).
func special8(x uint64) bool {
	below := (x - ones*0x20) &^ x & highs
	quote := ((x ^ ones*'"') - ones) &^ (x ^ ones*'"') & highs
	bslash := ((x ^ ones*'\\') - ones) &^ (x ^ ones*'\\') & highs
	return below|quote|bslash != 0
}

func (v *validator) str() bool {
	b := v.b
	if v.i >= len(b) || b[v.i] != '"' {
		return false
	}
	i := v.i + 1
	for {
		// Eight bytes at a time while none of them ends the run of plain bytes, then
		// byte by byte to find the one that does.
		for i+8 <= len(b) && !special8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case '"':
			v.i = i + 1
			return true
		case '\\':
			if i+1 >= len(b) {
				return false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return false
				}
				for _, h := range b[i+2 : i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				i += 6
			default:
				return false
			}
		default:
			return false // a control character
		}
	}
}

func (v *validator) number() bool {
	b := v.b
	i := v.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	start := i
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i-start > 300 {
		return false // may overflow float64
	}
	if i < len(b) && b[i] == '.' {
		i++
		fs := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == fs {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		return false // may overflow float64
	}
	v.i = i
	return true
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

// memberValue returns the bytes of member key of b, a valid JSON value (validated, or
// written by encoding/json), when b is an object that has it. A repeated key's last copy
// is the one encoding/json decodes, so that is the one returned.
func memberValue(b []byte, key string) ([]byte, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	var found []byte
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] == '"' {
		ke, err := skipString(b, i)
		if err != nil {
			return nil, false
		}
		tok := b[i:ke]
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		vs := skipSpace(b, i+1)
		ve := skipValue(b, vs)
		if ve <= vs {
			return nil, false
		}
		if keyEquals(tok, key) {
			found = b[vs:ve]
		}
		i = skipSpace(b, ve)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return found, found != nil
}

// keyEquals reports whether the string token tok (quotes included) spells key.
func keyEquals(tok []byte, key string) bool {
	inner := tok[1 : len(tok)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == key
	}
	k, err := decodeString(tok)
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

// decodeString unquotes a valid JSON string token as encoding/json does: a \u escape of
// half a surrogate pair that is not followed by the other half becomes U+FFFD. (Escapes
// are common: kube-apiserver writes & in request URIs as \u0026.)
func decodeString(tok []byte) (string, error) {
	inner := tok[1 : len(tok)-1]
	i := bytes.IndexByte(inner, '\\')
	if i < 0 {
		return string(inner), nil
	}
	out := make([]byte, 0, len(inner))
	out = append(out, inner[:i]...)
	for i < len(inner) {
		c := inner[i]
		if c != '\\' {
			j := bytes.IndexByte(inner[i:], '\\')
			if j < 0 {
				out = append(out, inner[i:]...)
				break
			}
			out = append(out, inner[i:i+j]...)
			i += j
			continue
		}
		if i+1 >= len(inner) {
			return "", errors.New("string: truncated escape")
		}
		switch e := inner[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(inner[i+2:])
			if !ok {
				return "", errors.New("string: bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				if i+12 <= len(inner) && inner[i+6] == '\\' && inner[i+7] == 'u' {
					r2, _ := hex4(inner[i+8:])
					if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
						out = utf8.AppendRune(out, dec)
						i += 12
						continue
					}
				}
				r = unicode.ReplacementChar
			}
			out = utf8.AppendRune(out, r)
			i += 6
			continue
		default:
			return "", errors.New("string: bad escape")
		}
		i += 2
	}
	return string(out), nil
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
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
