package decode

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/auditship/auditship/pipeline"
)

// Annotations auditship adds to events it builds from AdmissionReviews, for what the
// audit Event shape has no field for.
const (
	AnnotationSource    = "auditship.io/source"
	AnnotationOperation = "auditship.io/admission-operation"
	AnnotationDryRun    = "auditship.io/dry-run"
	// AnnotationTimeSource is "read" on an event whose requestReceivedTimestamp and
	// stageTimestamp are the time auditship read the line, because the line had none
	// (kube-audit-rest before it wrote requestReceivedTimestamp): the time is the agent's,
	// not the API server's.
	AnnotationTimeSource = "auditship.io/time-source"
	TimeSourceRead       = "read"
	// AnnotationOriginalTimestamp keeps, as its text, a requestReceivedTimestamp the
	// line had that is no RFC 3339 time (garbage, a number, an object): the event is
	// dated with the read time instead, and what the line said is not lost.
	AnnotationOriginalTimestamp = "auditship.io/original-timestamp"
)

// timestampLayout is how kube-apiserver writes an audit event's times (metav1.MicroTime).
const timestampLayout = "2006-01-02T15:04:05.000000Z07:00"

// fromAdmissionReview maps a kube-audit-rest line onto the audit.k8s.io/v1 Event shape so
// one set of filters and one index serve both sources:
//
//	request.uid                 -> auditID
//	request.operation           -> verb (CREATE create, UPDATE update, DELETE delete,
//	                               CONNECT create: exec/attach/portforward are POSTs)
//	request.userInfo            -> user
//	request.resource, .subResource, .name, .namespace
//	                            -> objectRef{resource, subresource, name, namespace,
//	                               apiGroup, apiVersion}
//	request.object              -> requestObject
//	request.oldObject           -> oldObject (no audit counterpart; kept, and redacted
//	                               like the bodies)
//	requestReceivedTimestamp    -> requestReceivedTimestamp and stageTimestamp; a line
//	                               without one (or with an empty or non-string one, or
//	                               a string that is no RFC 3339 time) gets the time it
//	                               was read (now), in UTC with microseconds, and the
//	                               annotation auditship.io/time-source: read; a value it
//	                               had is kept in auditship.io/original-timestamp
//	level, stage                -> "Request", "ResponseComplete" (admission sees the
//	                               request body only, and only requests that got that far)
//	requestURI                  -> rebuilt from the resource coordinates, without the
//	                               name of a CREATE (see requestURI)
//
// No counterpart: sourceIPs, userAgent, responseStatus, responseObject, impersonatedUser.
func fromAdmissionReview(m map[string]any, now time.Time) (*pipeline.Event, error) {
	req, ok := m["request"].(map[string]any)
	if !ok {
		return nil, ErrNotReview
	}
	uid, _ := req["uid"].(string)
	if uid == "" {
		return nil, ErrNotReview
	}
	op, _ := req["operation"].(string)
	verb := strings.ToLower(op)
	if op == "CONNECT" {
		verb = "create"
	}

	res, _ := req["resource"].(map[string]any)
	group, _ := res["group"].(string)
	version, _ := res["version"].(string)
	resource, _ := res["resource"].(string)
	sub, _ := req["subResource"].(string)
	name, _ := req["name"].(string)
	ns, _ := req["namespace"].(string)

	objectRef := map[string]any{"resource": resource, "apiVersion": version}
	if group != "" {
		objectRef["apiGroup"] = group
	}
	if ns != "" {
		objectRef["namespace"] = ns
	}
	if name != "" {
		objectRef["name"] = name
	}
	if sub != "" {
		objectRef["subresource"] = sub
	}

	annotations := map[string]any{AnnotationSource: "kube-audit-rest", AnnotationOperation: op}
	if dry, _ := req["dryRun"].(bool); dry {
		annotations[AnnotationDryRun] = "true"
	}

	ev := map[string]any{
		"kind":        "Event",
		"apiVersion":  "audit.k8s.io/v1",
		"level":       "Request",
		"auditID":     uid,
		"stage":       "ResponseComplete",
		"requestURI":  requestURI(op, group, version, resource, sub, ns, name),
		"verb":        verb,
		"objectRef":   objectRef,
		"annotations": annotations,
	}
	if ui, ok := req["userInfo"].(map[string]any); ok {
		ev["user"] = ui
	}
	if obj, ok := req["object"].(map[string]any); ok {
		ev["requestObject"] = obj
	}
	if old, ok := req["oldObject"].(map[string]any); ok {
		ev["oldObject"] = old
	}
	raw := m["requestReceivedTimestamp"]
	ts, _ := raw.(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		// Every event has a time: index names, object keys and SIEM searches need one,
		// and a date field rejects what is no time. The read time is marked, so nobody
		// takes it for the API server's; a value the line had is kept as its text.
		if orig := originalText(raw); orig != "" {
			annotations[AnnotationOriginalTimestamp] = orig
		}
		ts = now.UTC().Format(timestampLayout)
		annotations[AnnotationTimeSource] = TimeSourceRead
	}
	ev["requestReceivedTimestamp"] = ts
	ev["stageTimestamp"] = ts
	return pipeline.NewEvent(nil, ev, pipeline.SourceKubeAuditRest), nil
}

// originalText is a timestamp value as the line wrote it: a string itself, anything
// else as its JSON (a number keeps its digits), "" for none, null or "".
func originalText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// requestURI rebuilds the path of the request an AdmissionReview was made for, as
// kube-apiserver routes it, so that the audit_policy filter parses from it what
// kube-apiserver's RequestInfo had: the name is in the path only when the request named
// the object in its URL, which a CREATE does not (the name is in the body; admission
// reports it) unless it creates a subresource of a named object (pods/NAME/eviction,
// serviceaccounts/NAME/token; CONNECT is pods/NAME/exec and the like). A Namespace is
// addressed as /api/v1/namespaces/NAME, never inside itself.
func requestURI(op, group, version, resource, sub, ns, name string) string {
	if op == "CREATE" && sub == "" {
		name = ""
	}
	if group == "" && resource == "namespaces" {
		ns = ""
	}
	var b strings.Builder
	if group == "" {
		b.WriteString("/api/")
		b.WriteString(version)
	} else {
		b.WriteString("/apis/")
		b.WriteString(group)
		b.WriteString("/")
		b.WriteString(version)
	}
	if ns != "" {
		b.WriteString("/namespaces/")
		b.WriteString(ns)
	}
	b.WriteString("/")
	b.WriteString(resource)
	if name != "" {
		b.WriteString("/")
		b.WriteString(name)
	}
	if sub != "" {
		b.WriteString("/")
		b.WriteString(sub)
	}
	return b.String()
}
