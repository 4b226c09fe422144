package kube

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// Driver sends the traffic security teams care about to a cluster, as kubectl, Helm,
// kapp, Rancher and controllers would: Secrets created and changed every way the API
// allows, read back as objects, lists and Tables, service account tokens requested and
// reviewed, requests RBAC denies, workloads whose managedFields carry k:{...} keys, pod
// exec attempts and watches. It records every secret value it planted or received, so
// tests can prove none of them reaches an output.
type Driver struct {
	// AuditIDPrefix, when set, gives each request the header Audit-ID: PREFIX-N (N counts
	// the driver's requests from 1), which kube-apiserver uses as the auditID: the same
	// traffic sent to two clusters then has the same audit IDs.
	AuditIDPrefix string

	url, admin, nobody string
	hc                 *http.Client
	seed               string

	mu      sync.Mutex
	seq     int
	secrets map[string]struct{}
}

// NewDriver returns a driver for c. Values it plants derive from seed, so two drivers
// with one seed send byte-identical request bodies.
func NewDriver(c *Cluster, seed string) *Driver {
	return &Driver{
		url: c.URL, admin: c.AdminToken, nobody: c.NoRightsToken, hc: c.HTTPClient(), seed: seed,
		secrets: map[string]struct{}{},
	}
}

// Secrets returns every secret value the driver planted or received (tokens included),
// sorted.
func (d *Driver) Secrets() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.secrets))
	for s := range d.secrets {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// LeakForms returns the strings whose presence in an output means a secret leaked: each
// secret as is, base64 (standard, unpadded and URL alphabets), and for a JWT its
// signature, the part that makes it a credential.
func (d *Driver) LeakForms() map[string]string { return LeakForms(d.Secrets()) }

// LeakForms maps each string that reveals one of secrets to the secret: the secret as
// is, base64 (standard, unpadded and URL alphabets), and for a JWT its signature.
func LeakForms(secrets []string) map[string]string {
	forms := map[string]string{}
	for _, s := range secrets {
		forms[s] = s
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			forms[enc.EncodeToString([]byte(s))] = s
		}
		if parts := strings.Split(s, "."); len(parts) == 3 && len(parts[2]) >= 16 {
			forms[parts[2]] = s
		}
	}
	return forms
}

func (d *Driver) record(s string) {
	if s == "" {
		return
	}
	d.mu.Lock()
	d.secrets[s] = struct{}{}
	d.mu.Unlock()
}

// value returns a secret value derived from the seed and a name, and records it.
func (d *Driver) value(name string) string {
	h := sha256.Sum256([]byte(d.seed + "/" + name))
	v := "s3cr3t-" + hex.EncodeToString(h[:10])
	d.record(v)
	return v
}

// Anonymous as a request's token sends no credentials at all.
const Anonymous = "-"

// request is one API call; want lists the acceptable status codes (any when empty).
type request struct {
	token       string
	method      string
	path        string
	contentType string
	accept      string
	agent       string // User-Agent; kubectl's when empty
	body        any    // []byte, string, or a value encoded as JSON
	want        []int
}

func (d *Driver) nextID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seq++
	if d.AuditIDPrefix == "" {
		return ""
	}
	return fmt.Sprintf("%s-%d", d.AuditIDPrefix, d.seq)
}

func (d *Driver) do(ctx context.Context, r request) (int, []byte, error) {
	return d.doID(ctx, d.nextID(), r)
}

func (d *Driver) doID(ctx context.Context, auditID string, r request) (int, []byte, error) {
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		body = bytes.NewReader(j)
		if r.contentType == "" {
			r.contentType = "application/json"
		}
	}
	req, err := http.NewRequestWithContext(ctx, r.method, d.url+r.path, body)
	if err != nil {
		return 0, nil, err
	}
	switch r.token {
	case "":
		req.Header.Set("Authorization", "Bearer "+d.admin)
	case Anonymous: // no credentials: kube-apiserver authenticates system:anonymous
	default:
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.agent == "" {
		r.agent = "kubectl/v1.37.2 (linux/amd64) kubernetes/auditship-e2e"
	}
	req.Header.Set("User-Agent", r.agent)
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if auditID != "" {
		req.Header.Set("Audit-ID", auditID)
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, b, fmt.Errorf("%s %s: read response: %w", r.method, r.path, err)
	}
	d.recordReceived(b)
	if len(r.want) > 0 && !containsInt(r.want, resp.StatusCode) {
		return resp.StatusCode, b, fmt.Errorf("%s %s: status %d, want %v: %.300s", r.method, r.path, resp.StatusCode, r.want, b)
	}
	return resp.StatusCode, b, nil
}

// recordReceived records the secret values in a response: a Secret, a SecretList's
// items, a Table's row objects, a watch event's object, a TokenRequest's token.
func (d *Driver) recordReceived(b []byte) {
	var v map[string]any
	if json.Unmarshal(b, &v) != nil {
		return
	}
	d.walkReceived(v)
}

func (d *Driver) walkReceived(v map[string]any) {
	switch v["kind"] {
	case "Secret":
		d.recordSecret(v)
	case "SecretList":
		items, _ := v["items"].([]any)
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				d.recordSecret(m)
			}
		}
	case "Table":
		rows, _ := v["rows"].([]any)
		for _, r := range rows {
			if m, ok := r.(map[string]any); ok {
				if o, ok := m["object"].(map[string]any); ok {
					d.walkReceived(o)
				}
			}
		}
	case "TokenRequest":
		st, _ := v["status"].(map[string]any)
		tok, _ := st["token"].(string)
		d.record(tok)
	}
	if o, ok := v["object"].(map[string]any); ok && v["type"] != nil { // a watch event
		d.walkReceived(o)
	}
}

// publicKeys are Secret data keys whose values are public by convention: certificates,
// not keys.
var publicKeys = map[string]bool{"tls.crt": true, "ca.crt": true}

func (d *Driver) recordSecret(m map[string]any) {
	data, _ := m["data"].(map[string]any)
	for k, x := range data {
		if publicKeys[k] {
			continue
		}
		s, _ := x.(string)
		if raw, err := base64.StdEncoding.DecodeString(s); err == nil {
			d.record(string(raw))
		}
	}
	sd, _ := m["stringData"].(map[string]any)
	for _, x := range sd {
		s, _ := x.(string)
		d.record(s)
	}
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// gzipBase64 is how Rancher's objectset.rio.cattle.io/applied annotation stores the
// applied object: base64 of gzipped JSON.
func gzipBase64(s string) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// watch reads a watch stream to its end (the server closes it after timeoutSeconds),
// recording the secrets in its events.
func (d *Driver) watch(ctx context.Context, auditID, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.admin)
	req.Header.Set("Accept", "application/json")
	if auditID != "" {
		req.Header.Set("Audit-ID", auditID)
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return fmt.Errorf("watch %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("watch %s: %s", path, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		d.recordReceived(sc.Bytes())
	}
	return sc.Err()
}
