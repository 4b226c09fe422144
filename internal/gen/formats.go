// The two line formats a modelled request is written in: kube-apiserver's audit Event and
// kube-audit-rest's AdmissionReview.

package gen

import (
	"fmt"
	"strings"
	"time"
)

type objectRef struct {
	Resource        string `json:"resource,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	APIGroup        string `json:"apiGroup,omitempty"`
	APIVersion      string `json:"apiVersion,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	Subresource     string `json:"subresource,omitempty"`
}

type responseStatus struct {
	Metadata struct{} `json:"metadata"`
	Status   string   `json:"status,omitempty"`
	Message  string   `json:"message,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Code     int      `json:"code"`
}

// auditEvent has kube-apiserver's field order.
type auditEvent struct {
	Kind                     string            `json:"kind"`
	APIVersion               string            `json:"apiVersion"`
	Level                    string            `json:"level"`
	AuditID                  string            `json:"auditID"`
	Stage                    string            `json:"stage"`
	RequestURI               string            `json:"requestURI"`
	Verb                     string            `json:"verb"`
	User                     user              `json:"user"`
	SourceIPs                []string          `json:"sourceIPs"`
	UserAgent                string            `json:"userAgent"`
	ObjectRef                *objectRef        `json:"objectRef,omitempty"`
	ResponseStatus           *responseStatus   `json:"responseStatus,omitempty"`
	RequestObject            any               `json:"requestObject,omitempty"`
	ResponseObject           any               `json:"responseObject,omitempty"`
	RequestReceivedTimestamp string            `json:"requestReceivedTimestamp"`
	StageTimestamp           string            `json:"stageTimestamp"`
	Annotations              map[string]string `json:"annotations,omitempty"`
}

func auditOf(c *call, s *src) *auditEvent {
	ev := &auditEvent{
		Kind: "Event", APIVersion: "audit.k8s.io/v1", Level: "RequestResponse", AuditID: s.uid(),
		Stage: "ResponseComplete", RequestURI: c.uri, Verb: c.verb, User: c.user,
		SourceIPs: []string{fmt.Sprintf("10.0.%d.%d", s.intn(4), 2+s.intn(250))}, UserAgent: c.agent,
		ObjectRef: c.ref, RequestObject: c.req, ResponseObject: c.resp,
		RequestReceivedTimestamp: s.micro(0), StageTimestamp: s.micro(time.Duration(1+s.intn(40)) * time.Millisecond),
		Annotations: map[string]string{"authorization.k8s.io/decision": "allow",
			"authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding \"system:" + strings.TrimPrefix(c.user.Username, "system:") + "\""},
	}
	ev.ResponseStatus = &responseStatus{Code: c.code}
	switch {
	case c.cat == CatUnauthorized:
		ev.User = user{}
		ev.Annotations = nil
		ev.ResponseStatus = &responseStatus{Status: "Failure", Message: "Unauthorized", Reason: "Unauthorized", Code: 401}
	case c.forbid:
		ev.Annotations = map[string]string{"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""}
		ev.ResponseStatus = &responseStatus{Status: "Failure", Message: "forbidden", Reason: "Forbidden", Code: 403}
	case c.ref == nil:
		ev.Annotations = map[string]string{"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding \"system:public-info-viewer\""}
	}
	if c.verb == "watch" {
		ev.Stage = "ResponseStarted"
	}
	return ev
}

var operations = map[string]string{"create": "CREATE", "update": "UPDATE", "patch": "UPDATE", "delete": "DELETE"}

// admissionReview writes c as kube-audit-rest logs it: the webhook sees the object after
// the change (for a patch, the patched object) and the stored one before it.
func admissionReview(c *call, s *src) obj {
	op := operations[c.verb]
	object, old := c.req, c.old
	if c.verb == "patch" {
		object = c.resp
	}
	if c.verb == "delete" {
		object = c.req
	}
	sub := ""
	if c.ref.Subresource != "" {
		sub = c.ref.Subresource
		if sub == "exec" || sub == "attach" {
			op = "CONNECT"
		}
	}
	kind := ""
	if m, ok := object.(obj); ok {
		kind, _ = m["kind"].(string)
	}
	gvr := obj{"group": c.ref.APIGroup, "version": c.ref.APIVersion, "resource": c.ref.Resource}
	req := obj{
		"uid": s.uid(), "kind": obj{"group": c.ref.APIGroup, "version": c.ref.APIVersion, "kind": kind},
		"resource": gvr, "requestKind": obj{"group": c.ref.APIGroup, "version": c.ref.APIVersion, "kind": kind}, "requestResource": gvr,
		"name": c.ref.Name, "namespace": c.ref.Namespace, "operation": op,
		"userInfo": obj{"username": c.user.Username, "groups": c.user.Groups},
		"object":   object, "oldObject": old, "dryRun": false,
		"options": obj{"kind": strings.ToUpper(op[:1]) + strings.ToLower(op[1:]) + "Options", "apiVersion": "meta.k8s.io/v1"},
	}
	if sub != "" {
		req["subResource"] = sub
	}
	return obj{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": req, "requestReceivedTimestamp": s.micro(0)}
}
