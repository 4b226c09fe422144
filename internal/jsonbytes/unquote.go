package jsonbytes

import (
	"bytes"
	"errors"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Unquote unquotes a valid JSON string token as encoding/json does: a \u escape of
// half a surrogate pair that is not followed by the other half becomes U+FFFD. (Escapes
// are common: kube-apiserver writes & in request URIs as \u0026.)
func Unquote(tok []byte) (string, error) {
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
// to dst, as Unquote decodes it; ok is false when an escape is not valid JSON.
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
