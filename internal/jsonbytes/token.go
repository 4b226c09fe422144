package jsonbytes

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

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
