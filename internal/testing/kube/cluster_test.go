package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestDriverTrafficIsAudited checks the harness itself: one round of the driver's traffic
// reaches a real API server and its audit log holds each kind of request the end-to-end
// tests rely on, with the client-chosen audit IDs and the planted secrets.
func TestDriverTrafficIsAudited(t *testing.T) {
	c := Start(t, Options{})
	d := NewDriver(c, "self-test")
	d.AuditIDPrefix = "self"
	if err := d.Round(context.Background(), "self-test"); err != nil {
		t.Fatal(err)
	}
	lines, err := c.AuditLines()
	if err != nil {
		t.Fatal(err)
	}
	type event struct {
		AuditID   string `json:"auditID"`
		Stage     string `json:"stage"`
		Verb      string `json:"verb"`
		User      struct{ Username string }
		ObjectRef struct {
			Resource, Subresource, Namespace, Name string
		} `json:"objectRef"`
		ResponseStatus struct{ Code int } `json:"responseStatus"`
		RequestObject  json.RawMessage    `json:"requestObject"`
		ResponseObject json.RawMessage    `json:"responseObject"`
	}
	seen := map[string]bool{}
	ours := 0
	for _, l := range lines {
		var e event
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatalf("audit line: %v", err)
		}
		if !strings.HasPrefix(e.AuditID, "self-") || e.Stage != "ResponseComplete" {
			continue
		}
		ours++
		r := e.ObjectRef
		seen[fmt.Sprintf("%s %s %s/%s %d", e.User.Username, e.Verb, r.Resource, r.Subresource, e.ResponseStatus.Code)] = true
		if r.Resource == "secrets" && e.Verb == "patch" && r.Name == "applied" && !bytes.Contains(e.RequestObject, []byte(`"stringData"`)) {
			t.Errorf("server-side apply's YAML body is not in the audit event as JSON: %.300s", e.RequestObject)
		}
		if r.Resource == "deployments" && e.Verb == "create" && !bytes.Contains(e.ResponseObject, []byte(`k:{\"name\":\"app\"}`)) {
			t.Errorf("deployment create response lacks the managedFields key k:{\"name\":\"app\"}")
		}
	}
	for _, want := range []string{
		"admin create namespaces/ 201",
		"admin create secrets/ 201",
		"admin patch secrets/ 200",
		"admin update secrets/ 200",
		"admin get secrets/ 200",
		"admin list secrets/ 200",
		"admin watch secrets/ 200",
		"admin delete secrets/ 200",
		"nobody get secrets/ 403",
		"nobody list secrets/ 403",
		"nobody create secrets/ 403",
		"admin create serviceaccounts/token 201",
		"admin create tokenreviews/ 201",
		"admin create pods/exec 400",
		"nobody create pods/exec 403",
		"admin create deployments/ 201",
		"admin patch deployments/ 200",
		"admin create rolebindings/ 201",
	} {
		if !seen[want] {
			t.Errorf("no audit event %q among the traffic's %d", want, ours)
		}
	}
	all := bytes.Join(lines, []byte("\n"))
	planted := 0
	for form := range d.LeakForms() {
		if bytes.Contains(all, []byte(form)) {
			planted++
		}
	}
	if planted == 0 {
		t.Error("none of the driver's secrets is in the audit log")
	}
}
