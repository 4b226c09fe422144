package pipeline

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/bits"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Lines are checked and split in one pass (scanObject): a validator for the JSON grammar
// that records the top-level members as it goes. Values are decoded later, only when read,
// exactly as encoding/json decodes them into an `any` with UseNumber: objects as
// map[string]any (a repeated key keeps its last value), arrays as []any, numbers as
// json.Number (the literal text, so that 9007199254740993, 1e400, -0 and 1.0 are written
// back as they were read, never rounded through float64), strings unescaped the same way.
//
// The fast path vouches only for what it can decode exactly as encoding/json would; it
// declines (errDecline) lines nested deeper than fastMaxDepth, and the caller hands those
// to encoding/json (DecodeJSON), which decides. A line it declines for a syntax error is
// rejected by encoding/json too, with encoding/json's message.

// topField is one member of an event's top-level object, as offsets into the event's
// bytes: the key token (quotes included) and the value. Offsets rather than slices or a
// decoded key keep an event small and free of pointers for the garbage collector.
type topField struct {
	ks, ke, vs, ve uint32
	esc            bool // the key holds escapes, so it must be decoded to be compared
	gone           bool // removed by DeleteField
	set            bool // given a new value by SetField or EditMember (in Event.set)
}

// errDecline: the fast path does not vouch for this line (see above).
var errDecline = errors.New("not a JSON object the fast path decodes")

// ErrRepeatedKey: an object of the line repeats a key, as encoding/json decodes keys: "a"
// and "\u0061" are the same key, as are "\u00e9" and "é", and "\ud800" and "\udbff" (both
// U+FFFD). Decoding keeps the last copy, so the line's bytes hold content the decoded event
// does not show: such an event must never be written as its original bytes, or a filter
// that redacted what it saw would ship what it could not see.
var ErrRepeatedKey = errors.New("an object repeats a key")

// fastMaxDepth bounds the nesting the fast path takes (the validator recurses); real audit
// events nest a few dozen levels at most.
const fastMaxDepth = 200

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	// Lines seldom hold whitespace between tokens: one compare settles most bytes.
	for i < len(b) && b[i] <= ' ' && isSpace(b[i]) {
		i++
	}
	return i
}

// scanObject validates b as one JSON object and returns its members, or errDecline (or
// ErrRepeatedKey). It checks UTF-8 too: bytes from 0x80 on are only valid inside strings,
// and str checks them there, so a line it accepts is valid UTF-8 as a whole.
func scanObject(b []byte) ([]topField, error) {
	if len(b) > math.MaxInt32 { // offsets keep a bit for decKey
		return nil, errDecline
	}
	v := validators.Get().(*validator)
	v.b = b
	defer func() {
		v.b = nil
		v.keys = v.keys[:0]
		v.big = nil
		if cap(v.dec) > 64<<10 {
			v.dec = nil // a line of many escaped keys: its buffer is not kept around
		}
		v.dec = v.dec[:0]
		validators.Put(v)
	}()
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errDecline
	}
	out := make([]topField, 0, 24)
	var bloom uint64 // a bit per hash of the keys so far: most keys need no comparing
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			ks := i
			if i >= len(b) || b[i] != '"' {
				return nil, errDecline
			}
			ke, esc := str(b, i)
			if ke < 0 {
				return nil, errDecline
			}
			i = skipSpace(b, ke)
			if i >= len(b) || b[i] != ':' {
				return nil, errDecline
			}
			vs := skipSpace(b, i+1)
			ve := v.value(vs)
			if ve < 0 {
				if ve == failRepeated {
					return nil, ErrRepeatedKey
				}
				return nil, errDecline
			}
			// A top-level key is checked once its value is (only the keys of nested
			// objects are checked as they come): the order the fast path has always had.
			k := v.keyRec(ks, ke, esc)
			bit := uint64(1) << ((k.w ^ uint64(k.n)) * 0x9e3779b97f4a7c15 >> 58)
			// (Past bigObject keys every key goes through seen, which keeps them in a map.)
			if len(out) > 0 && (bloom&bit != 0 || len(out) >= bigObject) && v.seen(0, k) {
				return nil, ErrRepeatedKey
			}
			bloom |= bit
			v.keys = append(v.keys, k)
			out = append(out, topField{ks: uint32(ks), ke: uint32(ke), vs: uint32(vs), ve: uint32(ve), esc: esc})
			i = skipSpace(b, ve)
			if i >= len(b) {
				return nil, errDecline
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return nil, errDecline
			}
			i = skipSpace(b, i+1)
		}
	}
	if skipSpace(b, i) != len(b) {
		return nil, errDecline
	}
	return out, nil
}

// validator checks the JSON grammar (RFC 8259) of the values of a line's members. It
// walks nested values with a stack of its own rather than by recursion: the position
// stays in a register, and there is no call per value.
type validator struct {
	b []byte
	// keys holds the keys of the objects being validated, outermost first; an object's
	// keys start at the index its frame on stack records.
	keys []keyRec
	// stack has a frame per open object (keys index << 1) or array (1).
	stack []uint32
	// big holds the keys of objects with more than bigObject keys, by the index their
	// keys start at.
	big map[int]map[string]struct{}
	// dec holds the keys with escapes of the line, decoded (keyRec with decKey).
	dec []byte
}

// bigObject is the number of keys past which an object's keys are looked up in a map
// rather than compared one by one: a line with one object of 100,000 keys (a request
// body anyone who can write to the API server can send) must not take quadratic time.
const bigObject = 32

// validators recycles validators' buffers: new ones per line would be garbage on the hot
// path.
var validators = sync.Pool{New: func() any {
	return &validator{keys: make([]keyRec, 0, 64), stack: make([]uint32, 0, 32)}
}}

// keyRec is a key of an object being validated, as encoding/json decodes it: its length
// and its first eight bytes (zero-padded) decide almost every comparison without reading
// the key again.
type keyRec struct {
	w    uint64
	s, n uint32 // the key is b[s:s+n], or dec[s&^decKey:][:n] when s has decKey
}

// decKey marks a keyRec of a key with escapes, decoded into validator.dec. (Lines past
// math.MaxInt32 bytes are declined, so offsets never have this bit.)
const decKey = 1 << 31

// key returns k's key.
func (v *validator) key(k keyRec) []byte {
	if k.s&decKey != 0 {
		s := k.s &^ decKey
		return v.dec[s : s+k.n]
	}
	return v.b[k.s : k.s+k.n]
}

// keyRec returns the record of the key token b[ks:ke] (quotes included); esc says it
// holds escapes. Such a key is decoded (as decodeString does, which is what encoding/json
// does), so that it is compared as the key it spells: managedFields' k:{\"name\":\"app\"}
// keys make such keys common in real logs, and a key that spells another with \u escapes
// must still count as a repeat.
func (v *validator) keyRec(ks, ke int, esc bool) keyRec {
	if !esc {
		return newKeyRec(v.b, ks, ke)
	}
	start := len(v.dec)
	v.dec, _ = appendUnescaped(v.dec, v.b[ks+1:ke-1]) // str checked its escapes
	d := v.dec[start:]
	var w uint64
	for k := min(len(d), 8) - 1; k >= 0; k-- {
		w = w<<8 | uint64(d[k])
	}
	return keyRec{w: w, s: uint32(start) | decKey, n: uint32(len(d))}
}

// newKeyRec returns the record of the key token b[ks:ke] (quotes included), which holds
// no escapes.
func newKeyRec(b []byte, ks, ke int) keyRec {
	s, n := ks+1, ke-ks-2
	var w uint64
	switch {
	case s+8 <= len(b):
		w = binary.LittleEndian.Uint64(b[s:])
		if n < 8 {
			w &= 1<<(8*n) - 1
		}
	default: // the last bytes of a short line
		for k := min(n, 8) - 1; k >= 0; k-- {
			w = w<<8 | uint64(b[s+k])
		}
	}
	return keyRec{w: w, s: uint32(s), n: uint32(n)}
}

// seen reports whether k repeats a key among keys[from:]. Once the object is big, it
// also records k: every key of a big object must then come through here.
func (v *validator) seen(from int, k keyRec) bool {
	keys := v.keys[from:]
	if len(keys) < bigObject {
		for _, o := range keys {
			if o.w == k.w && o.n == k.n && (k.n <= 8 || bytes.Equal(v.key(o), v.key(k))) {
				return true
			}
		}
		return false
	}
	set := v.big[from]
	if set == nil {
		if v.big == nil {
			v.big = map[int]map[string]struct{}{}
		}
		set = make(map[string]struct{}, 2*len(keys))
		for _, o := range keys {
			set[string(v.key(o))] = struct{}{}
		}
		v.big[from] = set
	}
	key := string(v.key(k))
	if _, dup := set[key]; dup {
		return true
	}
	set[key] = struct{}{}
	return false
}

// value's results when it fails.
const (
	failSyntax   = -1 // or anything else the fast path declines
	failRepeated = -2 // an object repeats a key
)

// value validates the value at b[i] and returns the index just past it, or a fail
// constant.
func (v *validator) value(i int) int {
	b := v.b
	stack := v.stack[:0]
	var (
		c       byte
		end     int
		esc     bool
		k       keyRec
		from    uint32
		nStack  int
		failure = failSyntax
	)

value: // a value starts at b[i]
	if i >= len(b) {
		goto fail
	}
	switch c = b[i]; c {
	case '{':
		if len(stack) >= fastMaxDepth {
			goto fail
		}
		stack = append(stack, uint32(len(v.keys))<<1)
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			i++
			stack = stack[:len(stack)-1]
			goto next
		}
		goto key
	case '[':
		if len(stack) >= fastMaxDepth {
			goto fail
		}
		stack = append(stack, 1)
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			i++
			stack = stack[:len(stack)-1]
			goto next
		}
		goto value
	case '"':
		if i, _ = str(b, i); i < 0 {
			goto fail
		}
	case 't':
		if i+4 > len(b) || string(b[i:i+4]) != "true" {
			goto fail
		}
		i += 4
	case 'f':
		if i+5 > len(b) || string(b[i:i+5]) != "false" {
			goto fail
		}
		i += 5
	case 'n':
		if i+4 > len(b) || string(b[i:i+4]) != "null" {
			goto fail
		}
		i += 4
	default:
		if i = number(b, i); i < 0 {
			goto fail
		}
	}

next: // a value ended at b[i]: what follows depends on what holds it
	nStack = len(stack)
	if nStack == 0 {
		v.stack = stack
		return i
	}
	from = stack[nStack-1]
	i = skipSpace(b, i)
	if i >= len(b) {
		goto fail
	}
	switch b[i] {
	case ',':
		i = skipSpace(b, i+1)
		if from&1 != 0 {
			goto value
		}
		goto key
	case '}':
		if from&1 != 0 {
			goto fail
		}
		v.keys = v.keys[:from>>1]
		if v.big != nil {
			delete(v.big, int(from>>1)) // a later object may start its keys here
		}
	case ']':
		if from&1 == 0 {
			goto fail
		}
	default:
		goto fail
	}
	i++
	stack = stack[:nStack-1]
	goto next

key: // a member of the innermost object starts at b[i]
	if i >= len(b) || b[i] != '"' {
		goto fail
	}
	end, esc = str(b, i)
	if end < 0 {
		goto fail
	}
	k = v.keyRec(i, end, esc)
	if v.seen(int(stack[len(stack)-1]>>1), k) {
		failure = failRepeated
		goto fail
	}
	v.keys = append(v.keys, k)
	i = skipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		goto fail
	}
	i = skipSpace(b, i+1)
	goto value

fail:
	v.stack = stack[:0]
	return failure
}

// plain marks the bytes a string holds as they are: not a quote, a backslash or a
// control character (which JSON requires escaped), nor a byte of a multi-byte UTF-8
// sequence (which must be checked).
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// specials8 returns the high bits of the bytes of x (little-endian) that are not plain,
// and of no other byte below the lowest such one: its lowest set bit locates the first.
// It tests a byte for c-0x20 borrowing (a control character), for c^'"'-1 or c^'\\'-1
// borrowing (a quote or a backslash), and for its own high bit; a borrow spills into the
// bytes above only from a byte that is not plain itself.
func specials8(x uint64) uint64 {
	return ((x - ones*0x20) | ((x ^ ones*'"') - ones) | ((x ^ ones*'\\') - ones) | x) & highs
}

// special8 reports whether any of the eight bytes in x is not plain.
func special8(x uint64) bool { return specials8(x) != 0 }

// str returns the index just past the string token at b[i] (a quote), or -1 when it is
// not a valid one (in UTF-8), and whether it holds escapes.
func str(b []byte, i int) (int, bool) {
	esc := false
	i++
	for {
		if i+8 <= len(b) {
			m := specials8(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else {
			for i < len(b) && plain[b[i]] {
				i++
			}
			if i >= len(b) {
				return -1, esc
			}
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, esc
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return -1, esc
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return -1, esc
				}
				for _, h := range b[i+2 : i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return -1, esc
					}
				}
				i += 6
			default:
				return -1, esc
			}
		case c >= utf8.RuneSelf:
			// What utf8.Valid accepts: no overlong forms, surrogates, or sequences cut
			// short; a valid sequence holds no quote, backslash or control character.
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return -1, esc
			}
			i += n
		default:
			return -1, esc // a control character
		}
	}
}

// number returns the index just past the number at b[i] (RFC 8259 grammar), or -1 when
// there is none.
func number(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		fs := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == fs {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		// Any exponent is taken: a number is kept as its text (json.Number), so there
		// is no float64 range to check.
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		es := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == es {
			return -1
		}
	}
	return i
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
	var found []byte
	eachMember(b, func(ks, ke, vs, ve int) bool {
		if keyEquals(b[ks:ke], key) {
			found = b[vs:ve]
		}
		return true
	})
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
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), nil
	}
	out, ok := appendUnescaped(make([]byte, 0, len(inner)), inner)
	if !ok {
		return "", errors.New("string: bad escape")
	}
	return string(out), nil
}

// appendUnescaped appends what the inside of a string token (without its quotes) spells
// to dst, as decodeString decodes it; ok is false when an escape is not valid JSON.
func appendUnescaped(dst, inner []byte) ([]byte, bool) {
	out := dst
	i := 0
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
			return out, false
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
				return out, false
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
			return out, false
		}
		i += 2
	}
	return out, true
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
		if j == d.i+1 && (c < '0' || c > '9') {
			return nil, errors.New("invalid number")
		}
		n := json.Number(b[d.i:j]) // the literal text: see the top of this file
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
