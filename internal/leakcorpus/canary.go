// Package leakcorpus is the test corpus of the kubernetes-secrets redaction preset: audit
// Event and kube-audit-rest lines in the shapes secrets leak through (issue 12's seven
// kinds), each carrying canaries in one of three forms (plain, base64, gzip+base64), and
// the check that finds a canary in output in any of those forms. Tests of the redact
// filter, of `auditship test` and of `run --once` share it.
package leakcorpus

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Form is how a canary is written into a line.
type Form uint8

// The forms: as is, base64 (how Secret data is written) and gzip then base64 (how rio
// writes its applied annotation once over 1 KiB).
const (
	Plain Form = iota
	Base64
	GzipBase64
)

// Forms lists every form.
var Forms = []Form{Plain, Base64, GzipBase64}

func (f Form) String() string {
	switch f {
	case Base64:
		return "base64"
	case GzipBase64:
		return "gzip+base64"
	}
	return "plain"
}

// Canaries hands out unique canaries for one line and remembers them.
type Canaries struct {
	form  Form
	shape int
	list  []string
}

// NewCanaries returns the canaries of shape number shape in form f.
func NewCanaries(shape int, f Form) *Canaries { return &Canaries{form: f, shape: shape} }

// List returns the plain canaries handed out.
func (c *Canaries) List() []string { return c.list }

// plain returns a new canary as is.
func (c *Canaries) plain() string {
	v := fmt.Sprintf("CANARY-%03d-%d-%s-Zq7", c.shape, len(c.list), c.form)
	v = strings.ReplaceAll(v, "+", "")
	c.list = append(c.list, v)
	return v
}

// V returns a new canary in the line's form.
func (c *Canaries) V() string { return Encode(c.plain(), c.form) }

// P returns a new canary as is, whatever the form (text that must stay text: a command
// line, a manifest before it is encoded).
func (c *Canaries) P() string { return c.plain() }

// Encode writes s in form f.
func Encode(s string, f Form) string {
	switch f {
	case Base64:
		return base64.StdEncoding.EncodeToString([]byte(s))
	case GzipBase64:
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write([]byte(s))
		_ = zw.Close()
		return base64.StdEncoding.EncodeToString(b.Bytes())
	}
	return s
}

var base64Run = regexp.MustCompile(`[A-Za-z0-9+/_-]{16,}={0,2}`)

// Leak returns the first canary of list found in out, as is, in base64 (any alphabet,
// padded or not) or as gzip inside base64, at any depth up to three decodings; "" if none.
func Leak(out []byte, list []string) string {
	return leak(out, list, 0)
}

func leak(out []byte, list []string, depth int) string {
	for _, c := range list {
		if bytes.Contains(out, []byte(c)) {
			return c
		}
	}
	if depth >= 3 {
		return ""
	}
	for _, run := range base64Run.FindAll(out, -1) {
		for _, dec := range decodings(run) {
			if c := leak(dec, list, depth+1); c != "" {
				return c
			}
		}
	}
	return ""
}

// decodings returns what run decodes to as base64 (each alphabet that accepts it), and
// gunzipped where that is gzip.
func decodings(run []byte) [][]byte {
	var out [][]byte
	s := string(run)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		for _, cut := range []int{0, 1, 2, 3} {
			// A run found inside text may start mid-quantum: try each alignment.
			if cut >= len(s) {
				break
			}
			b, err := enc.DecodeString(s[cut:])
			if err != nil {
				b, err = enc.DecodeString(strings.TrimRight(s[cut:], "="))
				if err != nil {
					continue
				}
			}
			out = append(out, b)
			if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
				if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
					if g, err := io.ReadAll(io.LimitReader(zr, 1<<20)); err == nil || len(g) > 0 {
						out = append(out, g)
					}
				}
			}
		}
	}
	return out
}
