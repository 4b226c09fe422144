package pipeline

import (
	"time"

	"github.com/auditship/auditship/internal/jsonbytes"
)

// The audit Event view: what outputs and filters read of an audit.k8s.io/v1 Event
// (k8s.io/apiserver/pkg/apis/audit/v1.Event), in one place. The header is decoded when
// first asked for and kept until a filter changes the event; the time is parsed from its
// members alone, so an output that needs only the time does not pay for the header, and
// the path that asks for neither pays nothing. The bodies (requestObject,
// responseObject) and members the type does not name stay as bytes in the event.
//
// The event's own id at a destination is not here: it is the digest of the bytes as sent
// (internal/eventid), which an output may extend (Elasticsearch adds @timestamp).

// Header is the part of an audit Event every consumer reads, decoded once. A member the
// event lacks, or holds with another JSON type, is left zero.
type Header struct {
	AuditID    string
	Stage      string // RequestReceived, ResponseStarted, ResponseComplete, Panic
	Verb       string // the Kubernetes verb (get, list, create, ...) or the HTTP method, lowercase
	RequestURI string
	Level      string // None, Metadata, Request, RequestResponse
	User       UserInfo
	// ObjectRef is nil for a request that names no object (a non-resource URL).
	ObjectRef *ObjectRef
	// The timestamps as written (RFC 3339 with microseconds, by kube-apiserver); Event.Time
	// parses them.
	RequestReceivedTimestamp string
	StageTimestamp           string
	// Annotations holds the annotations whose values are strings (all of them, in what
	// kube-apiserver writes).
	Annotations map[string]string
}

// UserInfo is the audit Event's user (authentication.k8s.io/v1 UserInfo), without extra.
type UserInfo struct {
	Username string
	UID      string
	Groups   []string
}

// ObjectRef is the audit Event's objectRef: the object the request is about.
type ObjectRef struct {
	Resource        string
	Namespace       string
	Name            string
	UID             string
	APIGroup        string
	APIVersion      string
	ResourceVersion string
	Subresource     string
}

// timeOrders are the members Time and StageTime take the time from, in order of
// preference. requestReceivedTimestamp is the same for every stage of a request, so it
// keys what must not split a request (an index, an object); stageTimestamp is when this
// stage was recorded (Splunk's event time). timestamp is kube-audit-rest's.
var timeOrders = [2][3]string{
	{"requestReceivedTimestamp", "stageTimestamp", "timestamp"},
	{"stageTimestamp", "requestReceivedTimestamp", "timestamp"},
}

// Time returns the event's own time: requestReceivedTimestamp, else stageTimestamp, else
// timestamp (kube-audit-rest), the first that is a string time.RFC3339Nano parses. raw is
// that member's text. ok is false when none does (the caller then uses its own clock).
func (e *Event) Time() (t time.Time, raw string, ok bool) { return e.timeBy(0) }

// StageTime is Time preferring stageTimestamp, then requestReceivedTimestamp.
func (e *Event) StageTime() (t time.Time, raw string, ok bool) { return e.timeBy(1) }

// timeBy parses the event's time in timeOrders[order]. It is not kept: an output reads it
// once per event, and keeping it would cost every event an allocation.
func (e *Event) timeBy(order int) (time.Time, string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, name := range timeOrders[order] {
		v, _ := e.lookup(name)
		raw, _ := v.(string)
		if raw == "" {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, raw); err == nil {
			return t, raw, true
		}
	}
	return time.Time{}, "", false
}

// Header returns the event's header, decoded on first call and kept while the event is
// unchanged. Callers must not modify it.
func (e *Event) Header() *Header {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.header != nil {
		return e.header
	}
	h := e.decodeHeader()
	if !e.mutated {
		// After MutableFields the map may still change under a kept header.
		e.header = h
	}
	return h
}

// The members of user and objectRef the header holds, in the order decodeHeader reads them.
var (
	userNames      = [...]string{"username", "uid"}
	objectRefNames = [...]string{"resource", "namespace", "name", "uid", "apiGroup", "apiVersion", "resourceVersion", "subresource"}
)

// decodeHeader reads the header members; under e.mu.
func (e *Event) decodeHeader() *Header {
	h := &Header{}
	for _, m := range [...]struct {
		name string
		dst  *string
	}{
		{"auditID", &h.AuditID}, {"stage", &h.Stage}, {"verb", &h.Verb}, {"requestURI", &h.RequestURI},
		{"level", &h.Level}, {"requestReceivedTimestamp", &h.RequestReceivedTimestamp},
		{"stageTimestamp", &h.StageTimestamp},
	} {
		v, _ := e.lookup(m.name)
		*m.dst, _ = v.(string)
	}
	// user and objectRef are read from their bytes, as Strings reads them, without
	// decoding extra or the members the header does not hold.
	var user [2]string
	e.strings("user", userNames[:], user[:])
	h.User.Username, h.User.UID = user[0], user[1]
	if gs, ok := e.path([]string{"user", "groups"}); ok {
		gs, _ := gs.([]any)
		for _, g := range gs {
			if s, ok := g.(string); ok {
				h.User.Groups = append(h.User.Groups, s)
			}
		}
	}
	var ref [len(objectRefNames)]string
	if e.strings("objectRef", objectRefNames[:], ref[:]) {
		h.ObjectRef = &ObjectRef{
			Resource: ref[0], Namespace: ref[1], Name: ref[2], UID: ref[3], APIGroup: ref[4],
			APIVersion: ref[5], ResourceVersion: ref[6], Subresource: ref[7],
		}
	}
	if a, ok := e.peek("annotations").(map[string]any); ok {
		h.Annotations = make(map[string]string, len(a))
		for k, v := range a {
			if s, ok := v.(string); ok {
				h.Annotations[k] = s
			}
		}
	}
	return h
}

// peek returns member key's value for reading without keeping a decoding of it (nil when
// absent): the header copies what it needs, so the event need not hold the maps too.
// Under e.mu.
func (e *Event) peek(key string) any {
	if v, ok := e.fields[key]; ok || e.full {
		if r, isRaw := v.(jsonbytes.Raw); isRaw {
			return jsonbytes.Value(r)
		}
		return v
	}
	i := e.find(key)
	if i < 0 {
		return nil
	}
	return jsonbytes.Value(e.top[i].Value(e.raw))
}
