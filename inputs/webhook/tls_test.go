package webhook

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key for usage, signed by ca.
func (ca *testCA) issue(t testing.TB, cn string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func write(t testing.TB, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMutualTLS runs over a real HTTPS listener: no client certificate 401, one from
// another CA or issued for server auth only 403, kube-apiserver's 200; plain HTTP to the
// TLS port fails.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA, otherCA := newCA(t, "serving"), newCA(t, "clients"), newCA(t, "other")
	srvCert, srvKey := serverCA.issue(t, "auditship", x509.ExtKeyUsageServerAuth)
	c := NewConfig()
	c.Listen = "127.0.0.1:0"
	c.SpoolDir = filepath.Join(dir, "spool")
	c.TLS = TLS{
		CertFile:     write(t, filepath.Join(dir, "tls.crt"), srvCert),
		KeyFile:      write(t, filepath.Join(dir, "tls.key"), srvKey),
		ClientCAFile: write(t, filepath.Join(dir, "ca.crt"), clientCA.pem),
	}
	in := newInput(t, c, t.TempDir())
	url := "https://" + in.Addr().String() + "/audit?timeout=30s"
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(serverCA.pem)
	client := func(certPEM, keyPEM []byte) *http.Client {
		cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		if certPEM != nil {
			pair, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	good, goodKey := clientCA.issue(t, "kube-apiserver", x509.ExtKeyUsageClientAuth)
	foreign, foreignKey := otherCA.issue(t, "kube-apiserver", x509.ExtKeyUsageClientAuth)
	serverOnly, serverOnlyKey := clientCA.issue(t, "kube-apiserver", x509.ExtKeyUsageServerAuth)
	body := gz(t, eventList("audit.k8s.io/v1", "m-1", "m-2"))
	for _, tc := range []struct {
		name      string
		cert, key []byte
		want      int
	}{
		{"no client certificate", nil, nil, 401},
		{"another CA", foreign, foreignKey, 403},
		{"server auth only", serverOnly, serverOnlyKey, 403},
		{"kube-apiserver", good, goodKey, 200},
	} {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := client(tc.cert, tc.key).Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	got := drain(t, in, 2)
	if got["m-1"] != 1 || got["m-2"] != 1 {
		t.Fatalf("delivered %v", got)
	}
	resp, err := http.Post("http://"+in.Addr().String()+"/audit", "application/json", bytes.NewReader(body))
	if err == nil {
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP accepted on the TLS listener")
		}
		resp.Body.Close()
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	crt := write(t, filepath.Join(dir, "c.crt"), []byte("x"))
	for _, tc := range []struct {
		name  string
		edit  func(c *Config)
		errs  []string // substrings; none means valid
		warns int
	}{
		{"plain loopback", func(c *Config) { c.AllowPlainHTTP = true }, nil, 0},
		{"plain elsewhere warns", func(c *Config) { c.AllowPlainHTTP = true; c.Listen = "0.0.0.0:9443" }, nil, 2},
		{"tls", func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile = crt, crt }, nil, 0},
		{"no listen", func(c *Config) { c.AllowPlainHTTP = true; c.Listen = "" }, []string{"listen: required"}, 0},
		{"bad listen", func(c *Config) { c.AllowPlainHTTP = true; c.Listen = "9443" }, []string{"listen: must be host:port"}, 0},
		{"bad path", func(c *Config) { c.AllowPlainHTTP = true; c.Path = "audit" }, []string{"path:"}, 0},
		{"no tls", func(c *Config) {}, []string{"tls: cert_file and key_file are required"}, 0},
		{"cert without key", func(c *Config) { c.TLS.CertFile = crt }, []string{"go together"}, 0},
		{"tls and plain", func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile = crt, crt; c.AllowPlainHTTP = true }, []string{"allow_plain_http"}, 0},
		{"client CA without tls", func(c *Config) { c.AllowPlainHTTP = true; c.TLS.ClientCAFile = crt }, []string{"tls.client_ca_file"}, 0},
		{"missing files", func(c *Config) {
			c.TLS.CertFile, c.TLS.KeyFile = filepath.Join(dir, "no.crt"), dir
			c.BearerTokenFile = filepath.Join(dir, "no-token")
		}, []string{"tls.cert_file: cannot be read", "tls.key_file:", "bearer_token_file: cannot be read"}, 0},
		{"small request", func(c *Config) { c.AllowPlainHTTP = true; c.MaxRequestBytes = 10 }, []string{"max_request_bytes"}, 0},
		{"spool under request", func(c *Config) { c.AllowPlainHTTP = true; c.MaxSpoolBytes = c.MaxRequestBytes - 1 }, []string{"max_spool_bytes"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewConfig()
			c.Listen = "127.0.0.1:9443"
			tc.edit(c)
			err := c.Validate()
			if len(tc.errs) == 0 && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			for _, want := range tc.errs {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v, want it to contain %q", err, want)
				}
			}
			if len(c.Warnings()) != tc.warns {
				t.Errorf("warnings %q, want %d", c.Warnings(), tc.warns)
			}
		})
	}
}

// TestCertRotation: a renewed serving certificate is served without a restart; a pair
// that cannot be loaded (a key from another certificate: rotation caught half-way) keeps
// the previous one.
func TestCertRotation(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, "serving")
	crt1, key1 := ca.issue(t, "first", x509.ExtKeyUsageServerAuth)
	c := NewConfig()
	c.Listen = "127.0.0.1:0"
	c.SpoolDir = filepath.Join(dir, "spool")
	c.AllowPlainHTTP = false
	c.TLS = TLS{CertFile: write(t, filepath.Join(dir, "tls.crt"), crt1), KeyFile: write(t, filepath.Join(dir, "tls.key"), key1)}
	in := newInput(t, c, t.TempDir())
	in.certs.every = 0 // look at the files at every handshake
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.pem)
	served := func() string {
		t.Helper()
		conn, err := tls.Dial("tcp", in.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if cn := served(); cn != "first" {
		t.Fatalf("served %q", cn)
	}
	crt2, key2 := ca.issue(t, "second", x509.ExtKeyUsageServerAuth)
	later := time.Now().Add(time.Minute)
	write(t, c.TLS.CertFile, crt2) // the key still belongs to the first certificate
	os.Chtimes(c.TLS.CertFile, later, later)
	if cn := served(); cn != "first" {
		t.Fatalf("a mismatched pair replaced the served certificate: %q", cn)
	}
	write(t, c.TLS.KeyFile, key2)
	os.Chtimes(c.TLS.KeyFile, later, later)
	if cn := served(); cn != "second" {
		t.Fatalf("the renewed certificate is not served: %q", cn)
	}
}
