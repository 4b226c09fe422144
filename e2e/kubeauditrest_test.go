package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/testing/kube"
)

// TestKubeAuditRestFromRealAdmissionReviews: a validating webhook records every
// AdmissionReview the real API server sends it as kube-audit-rest does; the agent tails
// that file, SIGKILLed once mid-traffic. Every review is shipped, every write the
// traffic made (as the API server's own log shows it) has its review shipped, and no
// secret value appears in the output.
func TestKubeAuditRestFromRealAdmissionReviews(t *testing.T) {
	c := kube.Start(t, kube.Options{})
	dir := t.TempDir()
	rec, err := kube.StartAdmissionRecorder(filepath.Join(dir, "kube-audit-rest.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Close)
	d := kube.NewDriver(c, "kube-audit-rest")
	ctx := context.Background()
	if err := d.Register(ctx, rec); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "out.ndjson")
	a := startAgent(t, fmt.Sprintf(`data_dir: %s
inputs:
  admission:
    type: file
    paths: [%q]
    format: kube-audit-rest
    start_at: beginning
    poll_interval: 200ms
filters:
  - type: redact
    name: secrets
    preset: kubernetes-secrets
outputs:
  file:
    type: file
    path: %s
`, filepath.Join(dir, "state"), rec.Path, out))

	for i := range 4 {
		if i == 2 {
			if err := a.killAndRestart(); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Round(ctx, fmt.Sprintf("billing-%d", i)); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	c.Stop()
	rec.Close()

	reviews := readNDJSON(rec.Path)
	truth := map[string]int{}
	for _, l := range reviews {
		var r struct {
			Request struct {
				UID string `json:"uid"`
			} `json:"request"`
		}
		if err := json.Unmarshal(l, &r); err != nil || r.Request.UID == "" {
			t.Fatalf("recorded review without request.uid: %v", err)
		}
		truth[r.Request.UID+"/ResponseComplete"]++
	}
	waitUntil(t, "every review shipped", 2*time.Minute, func() bool {
		return len(compare("file", truth, countKeys(t, "output", readNDJSON(out))).missing) == 0
	})
	a.stop()
	shipped := readNDJSON(out)
	compare("kube-audit-rest file output", truth, countKeys(t, "output", shipped)).check(t)

	// Every successful write the traffic made, as the API server logged it, has a review.
	reviewed := map[target]bool{}
	for _, l := range shipped {
		var e struct {
			ObjectRef struct {
				Resource, Subresource, Namespace, Name string
			} `json:"objectRef"`
		}
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatal(err)
		}
		reviewed[targetOf(e.ObjectRef.Resource, e.ObjectRef.Subresource, e.ObjectRef.Namespace, e.ObjectRef.Name)] = true
	}
	lines, _ := groundTruth(t, c)
	writes := 0
	for _, l := range lines {
		var e struct {
			Stage     string `json:"stage"`
			Verb      string `json:"verb"`
			User      struct{ Username string }
			ObjectRef *struct {
				Resource, Subresource, Namespace, Name string
			} `json:"objectRef"`
			ResponseStatus struct{ Code int } `json:"responseStatus"`
		}
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatal(err)
		}
		if e.Stage != "ResponseComplete" || e.User.Username != "admin" || e.ObjectRef == nil ||
			e.ResponseStatus.Code >= 300 || !(e.Verb == "create" || e.Verb == "update" || e.Verb == "patch" || e.Verb == "delete") {
			continue
		}
		r := e.ObjectRef
		if r.Resource == "tokenreviews" || r.Resource == "validatingwebhookconfigurations" {
			continue // not admitted through webhooks / created before the webhook existed
		}
		writes++
		if !reviewed[targetOf(r.Resource, r.Subresource, r.Namespace, r.Name)] {
			t.Errorf("the API server logged %s %s/%s %s/%s by admin (status %d) but no review of it was shipped",
				e.Verb, r.Resource, r.Subresource, r.Namespace, r.Name, e.ResponseStatus.Code)
		}
	}
	t.Logf("%d reviews recorded, %d successful writes in the API server's log", len(reviews), writes)
	if writes == 0 {
		t.Fatal("no writes in the API server's log")
	}
	checkNoLeaks(t, d.LeakForms(), joinLines(reviews), map[string][][]byte{"kube-audit-rest output": shipped})
}

type target struct{ resource, subresource, namespace, name string }

// targetOf names what a request wrote. A Namespace's own namespace field is left out:
// the audit log and the AdmissionReview need not agree on it for a cluster-scoped object.
func targetOf(resource, subresource, namespace, name string) target {
	if resource == "namespaces" {
		namespace = ""
	}
	return target{resource, subresource, namespace, name}
}
