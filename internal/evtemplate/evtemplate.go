// Package evtemplate is the name template outputs take for a destination chosen per
// event (a Splunk index, a Kafka topic): literal text with %{dotted.path} parts filled
// from the event's members.
package evtemplate

import (
	"fmt"
	"strings"

	"github.com/auditship/auditship/pipeline"
)

// Template is a parsed template; the zero value renders "".
type Template struct {
	parts []part
}

type part struct {
	lit  string
	path []string // nil for a literal
}

// Parse parses s: text with %{a.b.c} references to the event's members. An unclosed
// %{ or an empty %{} is an error.
func Parse(s string) (*Template, error) {
	t := &Template{}
	for s != "" {
		i := strings.Index(s, "%{")
		if i < 0 {
			t.parts = append(t.parts, part{lit: s})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("%q: %%{ without a closing }", s)
		}
		path := s[i+2 : i+j]
		if path == "" {
			return nil, fmt.Errorf("%q: empty %%{}", s)
		}
		t.parts = append(t.parts, part{path: strings.Split(path, ".")})
		s = s[i+j+1:]
	}
	return t, nil
}

// Literals returns the template's literal text, for checking it against the
// destination's naming rules once.
func (t *Template) Literals() []string {
	var out []string
	for _, p := range t.parts {
		if p.path == nil {
			out = append(out, p.lit)
		}
	}
	return out
}

// Render fills the template from ev, each member's string value passed through conv
// (nil: as is). ok is false when a referenced member is missing, not a string, or empty.
func (t *Template) Render(ev *pipeline.Event, conv func(string) string) (s string, ok bool) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.path == nil {
			b.WriteString(p.lit)
			continue
		}
		v, found := ev.Path(p.path...)
		str, isStr := v.(string)
		if !found || !isStr || str == "" {
			return "", false
		}
		if conv != nil {
			str = conv(str)
		}
		b.WriteString(str)
	}
	return b.String(), true
}
