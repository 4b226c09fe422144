// The per-event random source and the strings drawn from it (uids, names, secrets, times).

package gen

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// src wraps the per-event random source with the helpers the builders need.
type src struct {
	r       *rand.Rand
	t       time.Time
	canary  string // non-empty: secret values start with it
	canaryN int
}

func (s *src) intn(n int) int { return s.r.IntN(n) }

func pick[T any](s *src, xs []T) T { return xs[s.r.IntN(len(xs))] }

func (s *src) uid() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(s.r.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (s *src) hex(n int) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for range n {
		b.WriteByte(digits[s.r.IntN(16)])
	}
	return b.String()
}

func (s *src) alnum(n int) string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b strings.Builder
	for range n {
		b.WriteByte(chars[s.r.IntN(len(chars))])
	}
	return b.String()
}

// secretValue is a plausible secret (a password, key or token); with canaries on it starts
// with the canary prefix so tests can look for it, raw or base64.
func (s *src) secretValue(n int) string {
	v := s.alnum(n)
	if s.canary != "" {
		s.canaryN++
		v = fmt.Sprintf("%s%d-%s", s.canary, s.canaryN, v)
	}
	return v
}

func (s *src) jwt() string {
	body := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"aud":["https://kubernetes.default.svc"],"exp":%d,"iss":"https://kubernetes.default.svc","sub":"system:serviceaccount:%s"}`, s.t.Unix()+3600, pick(s, namespaces))))
	tok := "eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9." + body + "." + s.alnum(86)
	if s.canary != "" {
		return s.secretValue(8) + "." + tok
	}
	return tok
}

func (s *src) ts(offset time.Duration) string {
	return s.t.Add(offset).UTC().Format("2006-01-02T15:04:05Z")
}

func (s *src) micro(offset time.Duration) string {
	return s.t.Add(offset).UTC().Format("2006-01-02T15:04:05.000000Z")
}
