// Package decode turns one line of an audit log into events: audit.k8s.io Event lines
// (kube-apiserver --audit-log-path), AdmissionReview lines (kube-audit-rest), or either
// per line. Every line is decoded once; an event keeps the bytes it came from.
package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auditship/auditship/pipeline"
)

// Decoder turns one line (without its newline) into events. A line that is not valid
// UTF-8, not JSON, not an object, or not an event is an error: the caller counts it as
// invalid and skips it, never ships it.
type Decoder interface {
	Decode(line []byte) ([]*pipeline.Event, error)
}

// Formats are the accepted values of an input's `format`.
var Formats = []string{"audit", "kube-audit-rest", "auto"}

// New returns the decoder for format.
func New(format string) (Decoder, error) {
	switch format {
	case "audit":
		return auditDecoder{}, nil
	case "kube-audit-rest":
		return karDecoder{}, nil
	case "auto":
		return autoDecoder{}, nil
	}
	return nil, fmt.Errorf("unknown format %q (audit, kube-audit-rest, auto)", format)
}

// Errors a line can be rejected with; none carries the line's content.
var (
	ErrInvalidUTF8 = errors.New("line is not valid UTF-8")
	ErrNotObject   = errors.New("line is not a JSON object")
	ErrNotEvent    = errors.New("object is not an audit event (no auditID)")
	ErrNotReview   = errors.New("object is not an AdmissionReview with a request")
)

var bom = []byte("\xef\xbb\xbf")

// parse checks a line and returns it as an event of src. The fast path validates the
// line and decodes it lazily; a line it does not vouch for (a syntax error, deep nesting,
// a repeated key) is decoded by encoding/json (pipeline.DecodeJSON: numbers keep their
// text), which then decides what is an error and says why.
func parse(line []byte, src pipeline.Source) ([]byte, *pipeline.Event, error) {
	line = bytes.TrimPrefix(line, bom)
	line = bytes.TrimRight(line, " \t\r")
	// The fast path checks UTF-8 as it validates (a line it accepts is valid UTF-8), so
	// utf8.Valid runs only on the lines it does not take, before anything else decides.
	trimmed := bytes.TrimLeft(line, " \t")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if !utf8.Valid(line) {
			return nil, nil, ErrInvalidUTF8
		}
		return nil, nil, ErrNotObject
	}
	if ev, err := pipeline.NewRawEvent(line, src); err == nil {
		return line, ev, nil
	}
	if !utf8.Valid(line) {
		return nil, nil, ErrInvalidUTF8
	}
	var m map[string]any
	if err := pipeline.DecodeJSON(line, &m); err != nil {
		return nil, nil, fmt.Errorf("invalid JSON: %s", jsonReason(err))
	}
	// The fast path did not vouch for these bytes (a repeated key among them, perhaps),
	// so the event is written from what was decoded, never as the bytes themselves.
	ev := pipeline.NewEvent(nil, m, src)
	ev.InBytes = len(line)
	return line, ev, nil
}

// jsonReason keeps the position and kind of a syntax error but not the offending bytes.
func jsonReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		// Value is "number 1234...", the literal whole for a number out of range: keep
		// only its kind.
		kind, _, _ := strings.Cut(te.Value, " ")
		if kind == "number" {
			return fmt.Sprintf("number out of range at byte %d", te.Offset)
		}
		return fmt.Sprintf("unexpected %s at byte %d", kind, te.Offset)
	}
	// Any other message may quote the line: name the kind of error only.
	return fmt.Sprintf("cannot decode (%T)", err)
}

type auditDecoder struct{}

func (auditDecoder) Decode(line []byte) ([]*pipeline.Event, error) {
	raw, ev, err := parse(line, pipeline.SourceAudit)
	if err != nil {
		return nil, err
	}
	return auditEvents(raw, ev)
}

func auditEvents(raw []byte, ev *pipeline.Event) ([]*pipeline.Event, error) {
	kindV, hasKind := ev.Lookup("kind")
	kind, _ := kindV.(string)
	if kind == "EventList" {
		return eventList(raw, ev.Fields())
	}
	if hasKind && kind != "Event" {
		return nil, ErrNotEvent
	}
	if ev.Kind("auditID") != pipeline.KindString {
		return nil, ErrNotEvent
	}
	return []*pipeline.Event{ev}, nil
}

// eventList splits an EventList (what the webhook backend posts) into its items, each
// written out as its own bytes.
func eventList(raw []byte, m map[string]any) ([]*pipeline.Event, error) {
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("invalid EventList: %s", jsonReason(err))
	}
	items, _ := m["items"].([]any)
	if len(items) != len(list.Items) {
		return nil, errors.New("invalid EventList: items is not a list")
	}
	out := make([]*pipeline.Event, 0, len(items))
	for i, it := range items {
		obj, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("EventList item %d: %w", i, ErrNotObject)
		}
		if _, ok := obj["auditID"].(string); !ok {
			return nil, fmt.Errorf("EventList item %d: %w", i, ErrNotEvent)
		}
		if k, ok := obj["kind"]; ok && k != "Event" {
			return nil, fmt.Errorf("EventList item %d: %w", i, ErrNotEvent)
		}
		ev, err := pipeline.NewRawEvent(list.Items[i], pipeline.SourceAudit)
		if err != nil {
			ev = pipeline.NewEvent(nil, obj, pipeline.SourceAudit) // see parse
		}
		out = append(out, ev)
	}
	share := len(raw) / max(len(out), 1)
	for _, ev := range out {
		ev.InBytes = share
	}
	return out, nil
}

// karDecoder decodes kube-audit-rest lines. now is the clock that dates lines without a
// timestamp (time.Now when nil).
type karDecoder struct{ now func() time.Time }

// readTime is the time a line is read, for lines that carry none.
func readTime(now func() time.Time) time.Time {
	if now == nil {
		return time.Now()
	}
	return now()
}

func (d karDecoder) Decode(line []byte) ([]*pipeline.Event, error) {
	raw, parsed, err := parse(line, pipeline.SourceKubeAuditRest)
	if err != nil {
		return nil, err
	}
	ev, err := fromAdmissionReview(parsed.Fields(), readTime(d.now))
	if err != nil {
		return nil, err
	}
	ev.InBytes = len(raw)
	return []*pipeline.Event{ev}, nil
}

// autoDecoder decodes audit and kube-audit-rest lines; now is karDecoder's.
type autoDecoder struct{ now func() time.Time }

func (d autoDecoder) Decode(line []byte) ([]*pipeline.Event, error) {
	raw, parsed, err := parse(line, pipeline.SourceAudit)
	if err != nil {
		return nil, err
	}
	if isAdmissionReview(parsed) {
		ev, err := fromAdmissionReview(parsed.Fields(), readTime(d.now))
		if err != nil {
			return nil, err
		}
		ev.InBytes = len(raw)
		return []*pipeline.Event{ev}, nil
	}
	return auditEvents(raw, parsed)
}

func isAdmissionReview(ev *pipeline.Event) bool {
	if k, _ := ev.Field("kind").(string); k == "AdmissionReview" {
		return true
	}
	_, hasReq := ev.Field("request").(map[string]any)
	return hasReq && !ev.Has("auditID")
}
