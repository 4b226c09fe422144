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

	"github.com/auditship/auditship/internal/jsonbytes"
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
// a repeated key) is decoded by encoding/json (jsonbytes.Unmarshal: numbers keep their
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
	if err := jsonbytes.Unmarshal(line, &m); err != nil {
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
		return eventList(raw, ev)
	}
	if err := checkEvent(ev, hasKind, kind); err != nil {
		return nil, err
	}
	keepEventMembers(ev)
	return []*pipeline.Event{ev}, nil
}

// checkEvent reports whether ev is an audit Event: an auditID string, and no kind or kind
// Event.
func checkEvent(ev *pipeline.Event, hasKind bool, kind string) error {
	if hasKind && kind != "Event" {
		return ErrNotEvent
	}
	if ev.Kind("auditID") != jsonbytes.KindString {
		return ErrNotEvent
	}
	return nil
}

// eventMembers are the members of the audit.k8s.io Event type (k8s.io/apiserver
// pkg/apis/audit/v1 Event, JSON names; keys are case-sensitive). v1alpha1 and v1beta1
// Events also have metadata and timestamp.
var eventMembers = map[string]bool{
	"kind": true, "apiVersion": true, "level": true, "auditID": true, "stage": true,
	"requestURI": true, "verb": true, "user": true, "impersonatedUser": true, "sourceIPs": true,
	"userAgent": true, "objectRef": true, "responseStatus": true, "requestObject": true,
	"responseObject": true, "requestReceivedTimestamp": true, "stageTimestamp": true,
	"annotations": true,
}

// keepEventMembers removes the members the audit Event type does not have (written by
// something other than kube-apiserver: nothing reads them, and no filter looks at them,
// so they could carry anything past redaction), and counts them in ev.OutsideSchema. The
// other members keep their bytes.
func keepEventMembers(ev *pipeline.Event) {
	var buf [4]string
	var beta, checked bool
	for _, k := range ev.UnknownKeys(eventMembers, buf[:0]) {
		if k == "metadata" || k == "timestamp" {
			if !checked {
				av, _ := ev.Field("apiVersion").(string)
				beta = av == "audit.k8s.io/v1beta1" || av == "audit.k8s.io/v1alpha1"
				checked = true
			}
			if beta {
				continue
			}
		}
		ev.DeleteField(k)
		ev.OutsideSchema++
	}
}

// eventList splits an EventList (what the webhook backend posts) into its items. Each
// item is checked and built from the same bytes: the member named exactly "items" (keys
// are case-sensitive in Kubernetes JSON, and a line that repeats a key is decoded, not
// split by bytes, see parse), each element decoded on its own.
func eventList(raw []byte, list *pipeline.Event) ([]*pipeline.Event, error) {
	var out []*pipeline.Event
	if arr, ok := list.RawMember("items"); ok {
		var err error
		i := 0
		_, _ = jsonbytes.EditElements(arr, func(item []byte) ([]byte, bool) {
			if err != nil {
				return nil, false
			}
			var ev *pipeline.Event
			if ev, err = listItem(item); err != nil {
				err = fmt.Errorf("EventList item %d: %w", i, err)
				return nil, false
			}
			out = append(out, ev)
			i++
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if arr[0] != '[' {
			return nil, errors.New("invalid EventList: items is not a list")
		}
	} else {
		// Decoded, not vouched for as bytes (see parse): the items are the decoded ones.
		v, has := list.Lookup("items")
		items, isList := v.([]any)
		if !has || !isList && v != nil {
			return nil, errors.New("invalid EventList: items is not a list")
		}
		for i, it := range items {
			obj, ok := it.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("EventList item %d: %w", i, ErrNotObject)
			}
			ev := pipeline.NewEvent(nil, obj, pipeline.SourceAudit)
			if err := checkListItem(ev); err != nil {
				return nil, fmt.Errorf("EventList item %d: %w", i, err)
			}
			out = append(out, ev)
		}
	}
	share := len(raw) / max(len(out), 1)
	for _, ev := range out {
		ev.InBytes = share
	}
	return out, nil
}

// listItem builds one EventList item from its bytes and checks it.
func listItem(item []byte) (*pipeline.Event, error) {
	if len(item) == 0 || item[0] != '{' {
		return nil, ErrNotObject
	}
	ev, err := pipeline.NewRawEvent(item, pipeline.SourceAudit)
	if err != nil {
		var m map[string]any
		if err := json.Unmarshal(item, &m); err != nil {
			return nil, fmt.Errorf("invalid JSON: %s", jsonReason(err))
		}
		ev = pipeline.NewEvent(nil, m, pipeline.SourceAudit) // see parse
	}
	return ev, checkListItem(ev)
}

func checkListItem(ev *pipeline.Event) error {
	kindV, hasKind := ev.Lookup("kind")
	kind, _ := kindV.(string)
	if hasKind && kindV != nil && kind != "Event" || hasKind && kindV == nil {
		return ErrNotEvent
	}
	if err := checkEvent(ev, false, ""); err != nil {
		return err
	}
	keepEventMembers(ev)
	return nil
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
