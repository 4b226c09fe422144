package jsonbytes

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"sync"
)

// Lines are checked and split in one pass (ScanObject): a validator for the JSON grammar
// that records the top-level members as it goes. Values are decoded later, only when read,
// exactly as encoding/json decodes them into an `any` with UseNumber: objects as
// map[string]any (a repeated key keeps its last value), arrays as []any, numbers as
// json.Number (the literal text, so that 9007199254740993, 1e400, -0 and 1.0 are written
// back as they were read, never rounded through float64), strings unescaped the same way.
//
// The fast path vouches only for what it can decode exactly as encoding/json would; it
// declines (ErrDecline) lines nested deeper than fastMaxDepth, and the caller hands those
// to encoding/json (Unmarshal), which decides. A line it declines for a syntax error is
// rejected by encoding/json too, with encoding/json's message.

// Member is one member of an object, as offsets into the object's bytes b: the key token
// b[KeyStart:KeyEnd] (quotes included) and the value b[ValueStart:ValueEnd]. Offsets
// rather than slices or a decoded key keep an event small and free of pointers for the
// garbage collector.
type Member struct {
	KeyStart, KeyEnd, ValueStart, ValueEnd uint32
	// Escaped: the key holds escapes, so it must be decoded (Unquote) to be compared.
	Escaped bool
	// Flags is 0 from ScanObject and free for the caller: pipeline.Event records there
	// that a member was removed or replaced, without a second slice per event.
	Flags uint8
}

// Key returns m's key token in b (quotes included).
func (m *Member) Key(b []byte) []byte { return b[m.KeyStart:m.KeyEnd] }

// Value returns m's value in b.
func (m *Member) Value(b []byte) []byte { return b[m.ValueStart:m.ValueEnd] }

// ErrDecline: the fast path does not vouch for this line (see above); Unmarshal decides.
var ErrDecline = errors.New("not a JSON object the fast path decodes")

// ErrRepeatedKey: an object of the line repeats a key, as encoding/json decodes keys: "a"
// and "\u0061" are the same key, as are "\u00e9" and "é", and "\ud800" and "\udbff" (both
// U+FFFD). Decoding keeps the last copy, so the line's bytes hold content the decoded event
// does not show: such an event must never be written as its original bytes, or a filter
// that redacted what it saw would ship what it could not see.
var ErrRepeatedKey = errors.New("an object repeats a key")

// fastMaxDepth bounds the nesting the fast path takes; real audit events nest a few dozen
// levels at most.
const fastMaxDepth = 200

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	// Lines seldom hold whitespace between tokens: one compare settles most bytes.
	for i < len(b) && b[i] <= ' ' && isSpace(b[i]) {
		i++
	}
	return i
}

// ScanObject validates b as one JSON object and returns its members, in order, or
// ErrDecline (or ErrRepeatedKey). It checks UTF-8 too: bytes from 0x80 on are only valid inside strings,
// and str checks them there, so a line it accepts is valid UTF-8 as a whole.
func ScanObject(b []byte) ([]Member, error) {
	if len(b) > math.MaxInt32 { // offsets keep a bit for decKey
		return nil, ErrDecline
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
		return nil, ErrDecline
	}
	out := make([]Member, 0, 24)
	var bloom uint64 // a bit per hash of the keys so far: most keys need no comparing
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			ks := i
			if i >= len(b) || b[i] != '"' {
				return nil, ErrDecline
			}
			ke, esc := str(b, i)
			if ke < 0 {
				return nil, ErrDecline
			}
			i = skipSpace(b, ke)
			if i >= len(b) || b[i] != ':' {
				return nil, ErrDecline
			}
			vs := skipSpace(b, i+1)
			ve := v.value(vs)
			if ve < 0 {
				if ve == failRepeated {
					return nil, ErrRepeatedKey
				}
				return nil, ErrDecline
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
			out = append(out, Member{KeyStart: uint32(ks), KeyEnd: uint32(ke), ValueStart: uint32(vs), ValueEnd: uint32(ve), Escaped: esc})
			i = skipSpace(b, ve)
			if i >= len(b) {
				return nil, ErrDecline
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return nil, ErrDecline
			}
			i = skipSpace(b, i+1)
		}
	}
	if skipSpace(b, i) != len(b) {
		return nil, ErrDecline
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
// holds escapes. Such a key is decoded (as Unquote does, which is what encoding/json
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
