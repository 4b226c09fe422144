package kube

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// AdmissionRecorder is a validating admission webhook that does what kube-audit-rest
// does: it allows every request and appends each AdmissionReview it receives to a file as
// one JSON line, with the time it arrived in requestReceivedTimestamp (RFC 3339, UTC,
// nanoseconds). It serves HTTPS on 127.0.0.1 with a certificate from a CA the test makes.
type AdmissionRecorder struct {
	// Path is the file the reviews are appended to.
	Path string
	// URL is where the API server must call it.
	URL string
	ca  *CA
	srv *http.Server

	mu    sync.Mutex
	f     *os.File
	count int
}

// StartAdmissionRecorder starts the webhook, appending to path.
func StartAdmissionRecorder(path string) (*AdmissionRecorder, error) {
	ca, err := NewCA()
	if err != nil {
		return nil, err
	}
	cert, err := ca.ServingCert()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open admission log: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	a := &AdmissionRecorder{Path: path, URL: "https://" + ln.Addr().String() + "/validate", ca: ca, f: f}
	a.srv = &http.Server{
		Handler:           http.HandlerFunc(a.serve),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = a.srv.ServeTLS(ln, "", "") }()
	return a, nil
}

func (a *AdmissionRecorder) serve(w http.ResponseWriter, r *http.Request) {
	received := time.Now().UTC().Format(time.RFC3339Nano)
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	var review map[string]any
	if err := json.Unmarshal(body, &review); err != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	req, _ := review["request"].(map[string]any)
	uid, _ := req["uid"].(string)
	review["requestReceivedTimestamp"] = received
	line, err := json.Marshal(review)
	if err != nil {
		http.Error(w, "encode", http.StatusInternalServerError)
		return
	}
	a.mu.Lock()
	_, err = a.f.Write(append(line, '\n'))
	if err == nil {
		a.count++
	}
	a.mu.Unlock()
	if err != nil {
		http.Error(w, "write", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"response": map[string]any{"uid": uid, "allowed": true},
	})
}

// Count returns how many reviews were written.
func (a *AdmissionRecorder) Count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.count
}

// Close stops the server and closes the file.
func (a *AdmissionRecorder) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = a.srv.Shutdown(ctx)
	a.mu.Lock()
	a.f.Close()
	a.mu.Unlock()
}

// Register creates a ValidatingWebhookConfiguration that sends every create, update,
// delete and connect of every resource to the recorder (failurePolicy Fail, so a request
// is never admitted unrecorded), and waits until the API server calls it.
func (d *Driver) Register(ctx context.Context, a *AdmissionRecorder) error {
	cfg := obj("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration",
		map[string]any{"name": "kube-audit-rest"}, map[string]any{
			"webhooks": []any{map[string]any{
				"name":                    "kube-audit-rest.auditship.test",
				"clientConfig":            map[string]any{"url": a.URL, "caBundle": base64.StdEncoding.EncodeToString(a.ca.CertPEM)},
				"rules":                   []any{map[string]any{"operations": []any{"*"}, "apiGroups": []any{"*"}, "apiVersions": []any{"*"}, "resources": []any{"*/*"}, "scope": "*"}},
				"failurePolicy":           "Fail",
				"sideEffects":             "None",
				"admissionReviewVersions": []any{"v1"},
				"timeoutSeconds":          10,
			}},
		})
	if _, _, err := d.do(ctx, request{method: "POST", path: "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", body: cfg, want: []int{201}}); err != nil {
		return err
	}
	// The API server picks the configuration up asynchronously; probe with a dry-run
	// create until the webhook sees one.
	probe := obj("v1", "ConfigMap", map[string]any{"name": "webhook-probe", "namespace": "default"}, nil)
	deadline := time.Now().Add(30 * time.Second)
	for a.Count() == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("the API server did not call the admission webhook within 30s")
		}
		if _, _, err := d.do(ctx, request{method: "POST", path: "/api/v1/namespaces/default/configmaps?dryRun=All", body: probe}); err != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}
