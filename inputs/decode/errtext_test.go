package decode

import (
	"strings"
	"testing"
)

// TestErrorsNeverQuoteTheLine: a decode error reports where and what kind of problem, in
// bounded length, never the offending bytes (a million-digit number made a 1 MB log line,
// and a line's text is event content).
func TestErrorsNeverQuoteTheLine(t *testing.T) {
	huge := "1" + strings.Repeat("7", 100_000)
	lines := map[string]string{
		"huge integer":           `{"auditID":"a","kind":"Event","x":` + huge + `}`,
		"huge exponent":          `{"auditID":"a","kind":"Event","x":1e` + strings.Repeat("7", 1000) + `}`,
		"huge negative":          `{"auditID":"a","kind":"Event","x":-` + huge + `}`,
		"in an array":            `{"auditID":"a","kind":"Event","x":[1,2,` + huge + `]}`,
		"EventList item":         `{"kind":"EventList","items":[{"auditID":"a","x":` + huge + `}]}`,
		"EventList items number": `{"kind":"EventList","items":` + huge + `}`,
		"kube-audit-rest":        `{"request":{"uid":"u","x":` + huge + `},"requestReceivedTimestamp":"2026-01-15T10:00:00Z"}`,
		"string where number":    `{"auditID":"a","kind":"Event","x":"` + strings.Repeat("7", 1000) + `"` + `,}`,
		"bad escape":             `{"auditID":"a","kind":"Event","x":"77777777\q77777777"}`,
		"control character":      "{\"auditID\":\"a\",\"kind\":\"Event\",\"x\":\"7777777\x017777777\"}",
	}
	for _, format := range []string{"audit", "kube-audit-rest", "auto"} {
		dec, err := New(format)
		if err != nil {
			t.Fatal(err)
		}
		for name, line := range lines {
			_, err := dec.Decode([]byte(line))
			if err == nil {
				continue // this format may take it (a number it can keep, say)
			}
			msg := err.Error()
			if len(msg) > 200 || strings.Contains(msg, "7777") {
				t.Errorf("%s/%s: error quotes the line (%d bytes): %.200s", format, name, len(msg), msg)
			}
		}
	}
}
