package splunkhec

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auditship/auditship/internal/evtemplate"
	"github.com/auditship/auditship/pipeline"
)

// parseTemplate parses the index template; its literal text must be lowercase, as a
// Splunk index name is.
func parseTemplate(s string) (*evtemplate.Template, error) {
	t, err := evtemplate.Parse(s)
	if err != nil {
		return nil, err
	}
	for _, lit := range t.Literals() {
		if lit != strings.ToLower(lit) {
			return nil, fmt.Errorf("%q: a Splunk index name is lowercase", lit)
		}
	}
	return t, nil
}

// renderIndex fills the index template from ev. It returns "" (the token's default
// index) when a part is missing or the result is not a valid index name: an event must
// not be refused for the name its own content gave it.
func renderIndex(t *evtemplate.Template, ev *pipeline.Event) string {
	s, ok := t.Render(ev, strings.ToLower)
	if !ok || s == "" || !indexName.MatchString(s) {
		return ""
	}
	return s
}

// encoder writes HEC event envelopes.
type encoder struct {
	index                   *evtemplate.Template
	host, source            string
	sourcetype, sourcetypeR string
	cluster                 string
	now                     func() time.Time
}

// appendTime appends the event's own time as HEC wants it, epoch seconds with the
// fraction written out (microseconds, as kube-apiserver writes them; nanoseconds kept
// when given): stageTimestamp (when this stage of the request was recorded), else
// requestReceivedTimestamp, else timestamp (kube-audit-rest); else now, so an event
// without a time is not refused.
func appendTime(dst []byte, ev *pipeline.Event, now time.Time) []byte {
	t, _, ok := ev.StageTime()
	if !ok {
		t = now
	}
	return appendEpoch(dst, t)
}

// appendEpoch appends t as epoch seconds, then the fraction: six digits when the
// nanoseconds are whole microseconds, else nine; none when they are 0.
func appendEpoch(dst []byte, t time.Time) []byte {
	sec, ns := t.Unix(), t.Nanosecond()
	dst = strconv.AppendInt(dst, sec, 10)
	if ns == 0 {
		return dst
	}
	digits := 9
	if ns%1000 == 0 {
		ns /= 1000
		digits = 6
	}
	var frac [9]byte
	for i := digits - 1; i >= 0; i-- {
		frac[i] = byte('0' + ns%10)
		ns /= 10
	}
	dst = append(dst, '.')
	return append(dst, frac[:digits]...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped exactly as encoding/json.Marshal
// escapes it (so the envelope is what json.Marshal would write): '"' and '\\' and the
// control characters (\b \f \n \r \t short, others \u00XX), the HTML characters <, >
// and & as \u003c \u003e \u0026, U+2028 and U+2029 as \u2028 \u2029 (JavaScript line
// terminators), and each invalid UTF-8 byte as \ufffd. It does not allocate.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// encode appends the envelope of ev, one line, and returns the grown buffer and the
// index it names. The event member is the event's own bytes, so numbers keep their
// digits and the schema is kept; what the agent adds is outside it, in the envelope.
func (e *encoder) encode(dst []byte, ev *pipeline.Event) ([]byte, string, error) {
	start := len(dst)
	dst = append(dst, `{"time":`...)
	dst = appendTime(dst, ev, e.now())
	dst = append(dst, `,"host":`...)
	dst = appendString(dst, e.host)
	dst = append(dst, `,"source":`...)
	st := e.sourcetype
	src := e.source
	if src == "" {
		// The spec's source is the input (name/path); the format names an event that
		// came through no engine.
		src = ev.Input
	}
	if ev.Source == pipeline.SourceKubeAuditRest {
		st = e.sourcetypeR
		if src == "" {
			src = "kube-audit-rest"
		}
	} else if src == "" {
		src = "kube-apiserver"
	}
	dst = appendString(dst, src)
	dst = append(dst, `,"sourcetype":`...)
	dst = appendString(dst, st)
	index := renderIndex(e.index, ev)
	if index != "" {
		dst = append(dst, `,"index":`...)
		dst = appendString(dst, index)
	}
	dst = e.appendFields(dst, ev)
	dst = append(dst, `,"event":`...)
	var err error
	if dst, err = ev.AppendJSON(dst); err != nil {
		return dst[:start], "", fmt.Errorf("encode event: %w", err)
	}
	dst = append(dst, "}\n"...)
	return dst, index, nil
}

// appendFields writes the indexed fields (searchable without extracting the event):
// cluster, verb, resource (objectRef.resource, with /subresource), user (user.username).
// Splunk indexes string values only; a missing one is left out.
func (e *encoder) appendFields(dst []byte, ev *pipeline.Event) []byte {
	// Each object is walked once over its bytes; nothing else of the event is decoded.
	var ref [2]string
	ev.Strings("objectRef", objectRefNames[:], ref[:])
	resource := ref[0]
	if sub := ref[1]; sub != "" && resource != "" {
		resource += "/" + sub
	}
	verb, _ := ev.Field("verb").(string)
	var user [1]string
	ev.Strings("user", userNames[:], user[:])
	n := 0
	for _, f := range [...]struct{ k, v string }{{"cluster", e.cluster}, {"verb", verb}, {"resource", resource}, {"user", user[0]}} {
		if f.v == "" {
			continue
		}
		if n == 0 {
			dst = append(dst, `,"fields":{`...)
		} else {
			dst = append(dst, ',')
		}
		dst = appendString(dst, f.k)
		dst = append(dst, ':')
		dst = appendString(dst, f.v)
		n++
	}
	if n > 0 {
		dst = append(dst, '}')
	}
	return dst
}

var (
	objectRefNames = [...]string{"resource", "subresource"}
	userNames      = [...]string{"username"}
)
