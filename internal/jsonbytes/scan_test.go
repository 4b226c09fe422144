package jsonbytes

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/auditship/auditship/internal/corpustest"
)

// refScan is what the decoder ran on a line before the validator checked UTF-8 itself:
// utf8.Valid over the whole line, then the validator below (the one ScanObject replaced,
// kept verbatim as the reference it must agree with).
func refScan(b []byte) ([]Member, error) {
	if !utf8.Valid(b) {
		return nil, errInvalidUTF8Ref
	}
	return refScanObject(b)
}

var errInvalidUTF8Ref = errors.New("invalid UTF-8")

// sameScan checks that ScanObject accepts b exactly when the reference does, with the
// same members, and fails the same way (invalid UTF-8 may fail either way, as the
// reference never saw those lines).
func sameScan(t *testing.T, b []byte) {
	t.Helper()
	got, err := ScanObject(b)
	want, werr := refScan(b)
	switch {
	case (err == nil) != (werr == nil):
		t.Fatalf("ScanObject error %v, reference %v, for %.300q", err, werr, b)
	case werr == errInvalidUTF8Ref:
	case err != werr:
		t.Fatalf("ScanObject error %v, reference %v, for %.300q", err, werr, b)
	case !reflect.DeepEqual(got, want):
		t.Fatalf("ScanObject members %+v, reference %+v, for %.300q", got, want, b)
	}
}

var scanCases = []string{
	`{}`, ` { } `, "\t{\"a\":1}\r\n", `{"a":1}`, `{"a":1,"a":{"b":2}}`, `{"a":{"x":1},"a":{"y":2}}`,
	`{"a":{"x":1,"x":2},"a":1}`, `{"a":1,"a":}`, `{"x":{"a":1,"a":}}`, `{"x":{"a":1,"a":2},}`,
	`{"k\u0065y":1}`, `{"k\u0065y":1,"b":2}`, `{"a":1,"k\u0065y":2}`, `{"k\u0065y":{"a":1,"a":2}}`,
	`{"a":{"k\u0065y":1}}`, `{"a":[{"k\"":1}]}`, `{"a":{"\\":1}}`, `{"":1,"":2}`, `{"a":{"":1,"":2}}`,
	`{"abcdefgh":1,"abcdefgh":2}`, `{"abcdefghi":1,"abcdefghj":2}`, `{"o":{"abcdefghij":1,"abcdefghij":2}}`,
	`{"o":{"abcdefgh":1,"abcdefgi":2,"abcdefgh":3}}`, `{"o":{"a":1,"b":2}}`, `{"o":{"ab":1,"a":2,"b":3}}`,
	`{"a":{"x":1},"b":{"x":1}}`, `{"a":[{"x":1},{"x":2}]}`, `{"a":[{"x":1,"y":{"x":1}}]}`,
	`{"n":-0,"f":1.5,"e":1e3}`, `{"n":-0.25,"z":0,"m":-12.5,"p":1}`, `{"a":1.}`, `{"a":.5}`, `{"a":+1}`,
	`{"a":01}`, `{"a":-}`, `{"a":-a}`, `{"a":1e}`, `{"a":1E5}`, `{"a":NaN}`, `{"a":tru}`, `{"a":truex}`,
	`{"a":true,"b":false,"c":null}`, `{"a":[true,false,null]}`, `{"a":nul`, `{"a":fals`,
	`{"a":"x` + "\x01" + `"}`, `{"a":"x` + "\x7f" + `"}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`,
	`{"a":"\uABCD\uabcd\u0000"}`, `{"a":"\"\\\/\b\f\n\r\t"}`, `{"a":"\`, `{"a":"\u00`, `{"a":"abc`,
	// Keys with escapes, compared as encoding/json decodes them.
	`{"a":1,"\u0061":2}`, `{"o":{"\u006a":1,"\u006A":2}}`, `{"o":{"\u0061":1,"\u0041":2}}`,
	`{"o":{"\ud800":1,"\udbff":2}}`, `{"o":{"\ud83d\ude00":1,"😀":2}}`, `{"o":{"\\u0061":1,"a":2}}`,
	`{"o":{"abcdefghij\u006b":1,"abcdefghijk":2}}`, `{"o":{"\/":1,"/":2}}`, `{"o":{"\n":1,"\u000A":2}}`,
	`{"f:spec":{"k:{\"name\":\"app\"}":{".":{}},"k:{\"name\":\"web\"}":{}}}`,
	`{"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{},"k:{\u0022containerPort\u0022:8080,\u0022protocol\u0022:\u0022TCP\u0022}":1}`,
	`{"a" 1}`, `{"a":1}x`, `{"a":1} {}`, `{'a':1}`, `{a:1}`, `{"a":[1,]}`, `{"a":[1 2]}`, `{"a":}`,
	`{"a":[}`, `{"a":{]}`, `{"a":[1}`, `{"a":{"b":1]}`, `{"a":{"b"}}`, `{"a":{"b":}}`, `{"a":{,}}`,
	`{"a":[,1]}`, `{,"a":1}`, `{"a":1,,"b":2}`, `[1]`, `"a"`, `{`, `{"`, `{"a"`, `{"a":`, `{"a":1`,
	`{"a":1,`, `{"a":[`, `{"a":[1,`, `{"a":{`, `{"a":{"b":1,`, "{\n\"a\" :\t[ 1 , { \"b\" : \"c\" } ] }",
	`{"n":` + strings.Repeat("9", 300) + `}`, `{"n":` + strings.Repeat("9", 301) + `}`,
	`{"n":-` + strings.Repeat("9", 300) + `.` + strings.Repeat("9", 400) + `}`,
	`{"deep":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`,
	`{"deep":` + strings.Repeat("[", 201) + strings.Repeat("]", 201) + `}`,
	`{"deep":` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat("}", 200) + `}`,
	`{"deep":` + strings.Repeat(`{"a":`, 201) + `1` + strings.Repeat("}", 201) + `}`,
	`{"deep":` + strings.Repeat(`[{"a":`, 100) + `1` + strings.Repeat("}]", 100) + `}`,
	`{"deep":` + strings.Repeat(`[{"a":`, 101) + `1` + strings.Repeat("}]", 101) + `}`,
	`{"s":"` + strings.Repeat("abcdefg", 40) + `","t":"` + strings.Repeat("x\\n", 30) + `"}`,
	// UTF-8: valid text, then invalid bytes inside strings, in keys and outside strings,
	// overlong encodings, surrogates encoded in UTF-8 and sequences cut off by the line's end.
	`{"s":"é","k€y":"😀","t":"` + strings.Repeat("日本語", 20) + `"}`, `{"s":"\u00e9é"}`,
	"{\"s\":\"\xef\xbf\xbd\"}", "{\"s\":\"\xf4\x8f\xbf\xbf\"}", "{\"s\":\"\xc2\x80\xdf\xbf\"}",
	"{\"s\":\"\xff\"}", "{\"s\":\"abc\x80def\"}", "{\"s\":\"abcdefgh\xc3\"}", "{\"s\":\"\xc3(\"}",
	"{\"k\xff\":1}", "{\"o\":{\"k\xe2\x82\":1}}", "{\"a\":1\xff}", "{\"a\":\xc3\xa9}", "\xc3\xa9{\"a\":1}",
	"{\"a\":1}\xc3\xa9", "{\xc3\xa9\"a\":1}", "{\"s\":\"\xc0\xaf\"}", "{\"s\":\"\xe0\x80\xaf\"}",
	"{\"s\":\"\xf0\x80\x80\xaf\"}", "{\"s\":\"\xc1\xbf\"}", "{\"s\":\"\xed\xa0\x80\"}", "{\"s\":\"\xed\xbf\xbf\"}",
	"{\"s\":\"\xed\x9f\xbf\"}", "{\"s\":\"\xf4\x90\x80\x80\"}", "{\"s\":\"\xf5\x80\x80\x80\"}",
	"{\"s\":\"\xe2\x82\"}", "{\"s\":\"\xe2\x82", "{\"s\":\"\xf0\x9f\x98", "{\"s\":\"\xc3",
	"{\"s\":\"x\xe2\x82\xac\"", "{\"s\":\"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\"}",
	"{\"s\":\"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\"}", "{\"s\":\"" + strings.Repeat("\xce\xbb", 50) + "\x80\"}",
	"{\"a\":{\"x\":1,\"x\":\"\xff\"}}", "{\"a\":{\"x\":\"\xff\",\"x\":1}}", "{\"x\":1,\"x\":\"\xff\"}",
}

// manyKeys returns an object of n members, keys k0... (with prefix p), and then the
// members extra.
func manyKeys(p string, n int, extra string) string {
	var sb strings.Builder
	sb.WriteString("{")
	for i := range n {
		fmt.Fprintf(&sb, "%q:%d,", fmt.Sprintf("%sk%d", p, i), i)
	}
	sb.WriteString(extra + "}")
	return sb.String()
}

// TestScanObjectAgreesWithReference: the validator accepts what the one it replaced
// accepted after utf8.Valid, with the same members, and fails the same way.
func TestScanObjectAgreesWithReference(t *testing.T) {
	for _, c := range []string{
		// Enough keys that some share a bit of the top level's filter without being
		// equal, and repeats far from the first copy, short and long.
		manyKeys("", 100, `"end":1`), manyKeys("", 100, `"k63":1`), manyKeys("", 100, `"k0":1`),
		manyKeys("long-key-", 100, `"long-key-99":1`), manyKeys("long-key-", 100, `"long-key-100":1`),
		`{"o":` + manyKeys("", 100, `"k42":1`) + `}`, `{"o":` + manyKeys("", 100, `"x":1`) + `}`,
	} {
		sameScan(t, []byte(c))
	}
	for _, c := range scanCases {
		sameScan(t, []byte(c))
		// Cut short at every byte, each line ends at a different point of the grammar (and
		// of a UTF-8 sequence); each prefix padded with spaces puts the end past the
		// eight-byte loads.
		for n := range len(c) {
			sameScan(t, []byte(c[:n]))
			sameScan(t, []byte(c[:n]+"        "))
		}
	}
}

// TestScanObjectUTF8: the validator checks UTF-8 itself, so that the decoder need not
// run utf8.Valid over lines it accepts.
func TestScanObjectUTF8(t *testing.T) {
	for _, c := range scanCases {
		if _, err := ScanObject([]byte(c)); err == nil && !utf8.ValidString(c) {
			t.Errorf("accepted invalid UTF-8 %q", c)
		}
	}
	for _, c := range []string{"{\"s\":\"\xed\xa0\x80\"}", "{\"s\":\"\xc0\xaf\"}", "{\"s\":\"\xe2\x82", "{\"k\xff\":1}"} {
		if _, err := ScanObject([]byte(c)); err == nil {
			t.Errorf("accepted invalid UTF-8 %q", c)
		}
	}
}

// TestScanObjectCorpus: every line of the shared corpus, and each cut short and with a
// byte of it flipped to non-ASCII, is scanned as the reference scans it.
func TestScanObjectCorpus(t *testing.T) {
	n := corpustest.Lines(t, func(_ string, l []byte) {
		sameScan(t, l)
		for k := 0; k < len(l); k += 1 + len(l)/16 {
			sameScan(t, l[:k])
			m := bytes.Clone(l)
			m[k] |= 0x80
			sameScan(t, m)
		}
	})
	if n == 0 {
		t.Fatal("no corpus lines checked")
	}
}

// FuzzScanObject: for any line, the validator and the reference agree.
func FuzzScanObject(f *testing.F) {
	for _, c := range scanCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameScan(t, b)
	})
}

// The validator ScanObject replaced, verbatim but for its names (ref...) and for keys with
// escapes, which it compares as encoding/json decodes them (refKey) where the validator it
// replaced declined every such key.

// refKey is the key token tok (quotes included) as encoding/json decodes it.
func refKey(tok []byte) string {
	var k string
	if err := json.Unmarshal(tok, &k); err != nil {
		panic(fmt.Sprintf("key %q: %v", tok, err)) // validated before
	}
	return k
}

// refScanObject validates b as one JSON object (b must be valid UTF-8) and returns its
// members, or ErrDecline.
func refScanObject(b []byte) ([]Member, error) {
	if len(b) > math.MaxUint32 {
		return nil, ErrDecline
	}
	buf := refKeyBufs.Get().(*[]refKeySpan)
	v := refValidator{b: b, i: skipSpace(b, 0), keys: (*buf)[:0]}
	defer func() {
		*buf = v.keys[:0]
		refKeyBufs.Put(buf)
	}()
	if v.i >= len(b) || b[v.i] != '{' {
		return nil, ErrDecline
	}
	out := make([]Member, 0, 24)
	v.i = skipSpace(b, v.i+1)
	if v.i < len(b) && b[v.i] == '}' {
		v.i++
	} else {
		for {
			ks := v.i
			if !v.str() {
				return nil, ErrDecline
			}
			ke := v.i
			v.i = skipSpace(b, v.i)
			if v.i >= len(b) || b[v.i] != ':' {
				return nil, ErrDecline
			}
			v.i = skipSpace(b, v.i+1)
			vs := v.i
			if !v.value() {
				if v.repeated {
					return nil, ErrRepeatedKey
				}
				return nil, ErrDecline
			}
			esc := bytes.IndexByte(b[ks:ke], '\\') >= 0
			for _, t := range out {
				if refKey(b[t.KeyStart:t.KeyEnd]) == refKey(b[ks:ke]) {
					return nil, ErrRepeatedKey
				}
			}
			out = append(out, Member{KeyStart: uint32(ks), KeyEnd: uint32(ke), ValueStart: uint32(vs), ValueEnd: uint32(v.i), Escaped: esc})
			v.i = skipSpace(b, v.i)
			if v.i >= len(b) {
				return nil, ErrDecline
			}
			if b[v.i] == '}' {
				v.i++
				break
			}
			if b[v.i] != ',' {
				return nil, ErrDecline
			}
			v.i = skipSpace(b, v.i+1)
		}
	}
	if skipSpace(b, v.i) != len(b) {
		return nil, ErrDecline
	}
	return out, nil
}

// refValidator checks the JSON grammar (RFC 8259) from b[i]; each method leaves i just past
// what it accepted.
type refValidator struct {
	b     []byte
	i     int
	depth int
	// keys holds the key tokens of the objects being validated, innermost last; an
	// object checks each key against its own (from the index it started at).
	keys     []refKeySpan
	repeated bool
}

// refKeyBufs recycles validators' key buffers: one per line would be garbage on the hot path.
var refKeyBufs = sync.Pool{New: func() any { b := make([]refKeySpan, 0, 64); return &b }}

type refKeySpan struct{ s, e int }

// newKey records the key token b[s:e] of the object whose keys start at keys[from], and
// fails on a repeat of a key as encoding/json decodes it.
func (v *refValidator) newKey(from, s, e int) bool {
	k := refKey(v.b[s:e])
	for _, o := range v.keys[from:] {
		if refKey(v.b[o.s:o.e]) == k {
			v.repeated = true
			return false
		}
	}
	v.keys = append(v.keys, refKeySpan{s, e})
	return true
}

func (v *refValidator) value() bool {
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

func (v *refValidator) literal(lit string) bool {
	if !bytes.HasPrefix(v.b[v.i:], []byte(lit)) {
		return false
	}
	v.i += len(lit)
	return true
}

func (v *refValidator) object() bool {
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

func (v *refValidator) array() bool {
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

// refPlain marks the bytes a string holds as they are: not a quote, a backslash or a
// control character (which JSON requires escaped).
var refPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// refSpecial8 reports whether any of the eight bytes in x is a quote, a backslash or a
// control character (the classic SWAR tests for a zero byte and for a byte below n).
func refSpecial8(x uint64) bool {
	below := (x - ones*0x20) &^ x & highs
	quote := ((x ^ ones*'"') - ones) &^ (x ^ ones*'"') & highs
	bslash := ((x ^ ones*'\\') - ones) &^ (x ^ ones*'\\') & highs
	return below|quote|bslash != 0
}

func (v *refValidator) str() bool {
	b := v.b
	if v.i >= len(b) || b[v.i] != '"' {
		return false
	}
	i := v.i + 1
	for {
		// Eight bytes at a time while none of them ends the run of refPlain bytes, then
		// byte by byte to find the one that does.
		for i+8 <= len(b) && !refSpecial8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && refPlain[b[i]] {
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

func (v *refValidator) number() bool {
	b := v.b
	i := v.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() bool {
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > s
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		digits()
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	v.i = i
	return true
}

// TestNumberBeyondFloat64KeptAsText: a number out of float64's range is no error (so no
// error can quote its digits): it is kept as its text, like every number (issue 13 kind 3).
func TestNumberBeyondFloat64KeptAsText(t *testing.T) {
	lit := `1e` + strings.Repeat("7", 10_000)
	v, err := decodeValue([]byte(`{"x":` + lit + `}`))
	if err != nil {
		t.Fatalf("decode: %.200s", err)
	}
	if n, _ := v.(map[string]any)["x"].(json.Number); string(n) != lit {
		t.Fatalf("decoded %.40v, want the literal", v)
	}
}
