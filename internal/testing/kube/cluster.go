package kube

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/testing/freeport"
)

// DefaultPolicy audits everything at RequestResponse, every stage: the most the API
// server can say, which an audit_policy filter can then only lower.
const DefaultPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: RequestResponse
`

const (
	readyTimeout = 2 * time.Minute
	stopGrace    = 30 * time.Second
)

// Options say how a cluster audits.
type Options struct {
	// Policy is the --audit-policy-file content (YAML); DefaultPolicy when empty.
	Policy string
	// LogMaxSizeMB is --audit-log-maxsize: the live log is renamed (lumberjack style,
	// audit-<time>.log) and gzipped once it reaches this many megabytes. Default 1.
	LogMaxSizeMB int
	// WebhookURL, when set, adds the webhook backend (--audit-webhook-config-file with
	// this URL as the cluster server, batches at most 1 s old).
	WebhookURL string
	// Users are extra identities in the static token file (--token-auth-file); each
	// gets a token in Cluster.Tokens. kube-apiserver adds system:authenticated itself.
	Users []User
	// NodeAuthorizer runs --authorization-mode=Node,RBAC, as kubeadm and the managed
	// clusters do, instead of RBAC alone: kubelets (group system:nodes) are then
	// allowed what the Node authorizer grants them (their node, their lease, the
	// Secrets and ConfigMaps of the pods bound to them).
	NodeAuthorizer bool
}

// User is an identity in the static token file.
type User struct {
	Name   string
	Groups []string
}

// Cluster is one etcd plus one kube-apiserver on 127.0.0.1.
type Cluster struct {
	// URL is the API server's base URL, https://127.0.0.1:PORT.
	URL string
	// AdminToken authenticates as user "admin" in group system:masters; NoRightsToken as
	// user "nobody", who has no RBAC bindings (requests beyond discovery are denied).
	AdminToken    string
	NoRightsToken string
	// Tokens maps each of Options.Users' names to its bearer token.
	Tokens map[string]string
	// AuditLog is --audit-log-path; its rotated backups are audit-*.log.gz beside it.
	AuditLog string
	// Dir holds the cluster's files (certificates, tokens, policy, logs, etcd data).
	Dir string

	rootCAs   *x509.CertPool
	etcd      *process
	apiserver *process
}

// Start builds (first use only) and starts a cluster for t, stopped when t ends. A build
// failure fails the test; with -short the test is skipped instead when the binaries are
// not in the cache yet, since building them takes minutes.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if testing.Short() {
		if _, err := cachedBinaries(); err != nil {
			t.Skipf("-short: kube-apiserver/etcd not built yet (go run ./internal/toolcache/cmd/install-tools): %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), InstallTimeout+time.Minute)
	defer cancel()
	bins, err := Install(ctx, os.Stderr)
	if err != nil {
		t.Fatalf("build kube-apiserver/etcd: %v", err)
	}
	c, err := Launch(bins, t.TempDir(), opts)
	if c != nil {
		t.Cleanup(func() {
			c.Stop()
			if t.Failed() {
				t.Logf("kube-apiserver log tail:\n%s", c.apiserver.logTail(3000))
			}
		})
	}
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	return c
}

// Launch starts etcd and kube-apiserver from bins with their files under dir and waits
// until the API server is ready (/readyz, which includes the RBAC bootstrap). On an error
// the returned cluster (if any) must still be stopped.
func Launch(bins Binaries, dir string, opts Options) (*Cluster, error) {
	c := &Cluster{Dir: dir, AdminToken: token(), NoRightsToken: token(), Tokens: map[string]string{}}
	for _, u := range opts.Users {
		c.Tokens[u.Name] = token()
	}
	var lastErr error
	// A port found free can be taken before a server binds it: try a few times.
	for range 3 {
		if lastErr = c.launch(bins, opts); lastErr == nil {
			return c, nil
		}
		c.Stop()
	}
	return c, lastErr
}

func (c *Cluster) launch(bins Binaries, opts Options) error {
	etcdClient, err1 := freeport.Addr()
	etcdPeer, err2 := freeport.Addr()
	apiAddr, err3 := freeport.Addr()
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	etcdDir := filepath.Join(c.Dir, "etcd")
	_ = os.RemoveAll(etcdDir)
	c.etcd, err1 = startProcess("etcd", filepath.Join(c.Dir, "etcd.log"), bins.Etcd,
		"--name=default",
		"--data-dir="+etcdDir,
		"--listen-client-urls=http://"+etcdClient,
		"--advertise-client-urls=http://"+etcdClient,
		"--listen-peer-urls=http://"+etcdPeer,
		"--initial-advertise-peer-urls=http://"+etcdPeer,
		"--initial-cluster=default=http://"+etcdPeer,
		"--log-level=warn",
		"--unsafe-no-fsync", // throwaway data; fsync on a busy shared disk slows every write
	)
	if err1 != nil {
		return err1
	}
	if err := waitHTTP(c.etcd, &http.Client{Timeout: 2 * time.Second}, "http://"+etcdClient+"/health", nil); err != nil {
		return fmt.Errorf("etcd: %w\n%s", err, c.etcd.logTail(2000))
	}

	args, err := c.files(opts)
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(apiAddr)
	c.URL = "https://" + apiAddr
	args = append(args,
		"--etcd-servers=http://"+etcdClient,
		"--secure-port="+port,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none", // the default reconciler refuses a loopback address
		"--service-cluster-ip-range=10.96.0.0/16",
		"--authorization-mode="+authorizationMode(opts),
	)
	c.apiserver, err = startProcess("kube-apiserver", filepath.Join(c.Dir, "kube-apiserver.log"), bins.APIServer, args...)
	if err != nil {
		return err
	}
	// The serving certificate is self-signed into --cert-dir at start; trust it once it
	// exists (apiserver.crt holds the certificate and the CA that signed it).
	crt := filepath.Join(c.Dir, "certs", "apiserver.crt")
	deadline := time.Now().Add(readyTimeout)
	for {
		if b, err := os.ReadFile(crt); err == nil && len(b) > 0 {
			c.rootCAs = x509.NewCertPool()
			if c.rootCAs.AppendCertsFromPEM(b) {
				break
			}
		}
		select {
		case <-c.apiserver.exited:
			return fmt.Errorf("kube-apiserver exited during startup:\n%s", c.apiserver.logTail(3000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver wrote no serving certificate in %s", readyTimeout)
		}
	}
	hc := c.HTTPClient()
	hc.Timeout = 5 * time.Second
	if err := waitHTTP(c.apiserver, hc, c.URL+"/readyz", http.Header{"Authorization": {"Bearer " + c.AdminToken}}); err != nil {
		return fmt.Errorf("kube-apiserver: %w\n%s", err, c.apiserver.logTail(3000))
	}
	return nil
}

// files writes the certificates, keys, token file, audit policy and webhook kubeconfig,
// and returns the flags naming them.
func (c *Cluster) files(opts Options) ([]string, error) {
	if err := os.MkdirAll(filepath.Join(c.Dir, "audit"), 0o700); err != nil {
		return nil, fmt.Errorf("create audit dir: %w", err)
	}
	saKey := filepath.Join(c.Dir, "sa.key")
	if err := writeRSAKey(saKey); err != nil {
		return nil, err
	}
	tokens := filepath.Join(c.Dir, "tokens.csv")
	csv := fmt.Sprintf("%s,admin,uid-admin,\"system:masters\"\n%s,nobody,uid-nobody\n", c.AdminToken, c.NoRightsToken)
	for i, u := range opts.Users {
		csv += fmt.Sprintf("%s,%s,uid-%d", c.Tokens[u.Name], u.Name, i)
		if len(u.Groups) > 0 {
			csv += fmt.Sprintf(",%q", strings.Join(u.Groups, ","))
		}
		csv += "\n"
	}
	if err := os.WriteFile(tokens, []byte(csv), 0o600); err != nil {
		return nil, fmt.Errorf("write token file: %w", err)
	}
	policy := opts.Policy
	if policy == "" {
		policy = DefaultPolicy
	}
	policyFile := filepath.Join(c.Dir, "audit-policy.yaml")
	if err := os.WriteFile(policyFile, []byte(policy), 0o600); err != nil {
		return nil, fmt.Errorf("write audit policy: %w", err)
	}
	maxSize := opts.LogMaxSizeMB
	if maxSize == 0 {
		maxSize = 1
	}
	c.AuditLog = filepath.Join(c.Dir, "audit", "audit.log")
	args := []string{
		"--cert-dir=" + filepath.Join(c.Dir, "certs"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + saKey,
		"--service-account-signing-key-file=" + saKey,
		"--token-auth-file=" + tokens,
		"--audit-policy-file=" + policyFile,
		"--audit-log-path=" + c.AuditLog,
		"--audit-log-maxsize=" + strconv.Itoa(maxSize),
		"--audit-log-maxbackup=100",
		"--audit-log-compress",
	}
	if opts.WebhookURL != "" {
		kubeconfig := filepath.Join(c.Dir, "audit-webhook.kubeconfig")
		cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: receiver
  cluster:
    server: %q
contexts:
- name: default
  context:
    cluster: receiver
    user: ""
current-context: default
users: []
`, opts.WebhookURL)
		if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
			return nil, fmt.Errorf("write audit webhook kubeconfig: %w", err)
		}
		args = append(args,
			"--audit-webhook-config-file="+kubeconfig,
			"--audit-webhook-batch-max-wait=1s",
			"--audit-webhook-initial-backoff=1s",
		)
	}
	return args, nil
}

func authorizationMode(opts Options) string {
	if opts.NodeAuthorizer {
		return "Node,RBAC"
	}
	return "RBAC"
}

// HTTPClient returns a client that trusts the API server's serving certificate.
func (c *Cluster) HTTPClient() *http.Client {
	return &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: c.rootCAs, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 16,
		},
	}
}

// Stop shuts kube-apiserver down with SIGTERM (it flushes its audit backends) and then
// etcd; either is SIGKILLed if it does not exit within 30 s. Safe to call twice.
func (c *Cluster) Stop() {
	c.apiserver.stop(stopGrace)
	c.etcd.stop(stopGrace)
}

// APIServerLog returns the last n bytes of kube-apiserver's own log.
func (c *Cluster) APIServerLog(n int) string { return c.apiserver.logTail(n) }

func waitHTTP(p *process, hc *http.Client, url string, h http.Header) error {
	deadline := time.Now().Add(readyTimeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("exited during startup (last check: %s)", last)
		case <-time.After(200 * time.Millisecond):
		}
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := hc.Do(req)
		if err != nil {
			last = err.Error()
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		last = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return fmt.Errorf("%s not ready after %s (last: %s)", url, readyTimeout, last)
}

func token() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}
