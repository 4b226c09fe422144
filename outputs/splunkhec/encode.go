package splunkhec

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

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

// eventTime returns the event's own time as HEC wants it, epoch seconds with the
// fraction written out (microseconds, as kube-apiserver writes them; nanoseconds kept
// when given): stageTimestamp (when this stage of the request was recorded), else
// requestReceivedTimestamp, else timestamp (kube-audit-rest); else now, so an event
// without a time is not refused.
func eventTime(ev *pipeline.Event, now time.Time) string {
	t := now
	for _, k := range []string{"stageTimestamp", "requestReceivedTimestamp", "timestamp"} {
		s, ok := ev.Field(k).(string)
		if !ok || s == "" {
			continue
		}
		if p, err := time.Parse(time.RFC3339Nano, s); err == nil {
			t = p
			break
		}
	}
	sec, ns := t.Unix(), t.Nanosecond()
	if ns == 0 {
		return strconv.FormatInt(sec, 10)
	}
	frac := fmt.Sprintf("%09d", ns)
	if ns%1000 == 0 {
		frac = frac[:6]
	}
	return strconv.FormatInt(sec, 10) + "." + frac
}

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return append(dst, b...)
}

// encode appends the envelope of ev, one line, and returns the grown buffer and the
// index it names. The event member is the event's own bytes, so numbers keep their
// digits and the schema is kept; what the agent adds is outside it, in the envelope.
func (e *encoder) encode(dst []byte, ev *pipeline.Event) ([]byte, string, error) {
	start := len(dst)
	dst = append(dst, `{"time":`...)
	dst = append(dst, eventTime(ev, e.now())...)
	dst = append(dst, `,"host":`...)
	dst = appendString(dst, e.host)
	dst = append(dst, `,"source":`...)
	st := e.sourcetype
	src := e.source
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
	resource, _ := pathString(ev, "objectRef", "resource")
	if sub, _ := pathString(ev, "objectRef", "subresource"); sub != "" && resource != "" {
		resource += "/" + sub
	}
	verb, _ := ev.Field("verb").(string)
	user, _ := pathString(ev, "user", "username")
	n := 0
	for _, f := range [...]struct{ k, v string }{{"cluster", e.cluster}, {"verb", verb}, {"resource", resource}, {"user", user}} {
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

func pathString(ev *pipeline.Event, path ...string) (string, bool) {
	v, ok := ev.Path(path...)
	s, isStr := v.(string)
	return s, ok && isStr
}
