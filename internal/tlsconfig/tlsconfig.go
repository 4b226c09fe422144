// Package tlsconfig is the `tls` block of the outputs that connect over TLS: which CA
// verifies the server, which certificate the agent presents, all files read under
// internal/secretfile's bounds.
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"github.com/auditship/auditship/internal/secretfile"
)

// Client is how an output verifies its server and presents itself to it.
type Client struct {
	// CAFile is a PEM bundle of the CAs trusted for the server; empty: the system roots.
	CAFile string `mapstructure:"ca_file"`
	// CertFile and KeyFile are the client certificate and key, set together.
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
	// InsecureSkipVerify turns certificate verification off; the output logs a warning.
	InsecureSkipVerify bool `mapstructure:"insecure_skip_verify"`
}

// Problem is one finding of Check: the key under the block ("tls", "tls.ca_file") and
// what is wrong with it.
type Problem struct {
	Key, Msg string
}

// Check reads the files the block names, as Config will, and returns what makes it
// invalid (errs) and what is allowed but unsafe (warnings). peer names the server in the
// warning about verification being off (e.g. "Elasticsearch").
func (c Client) Check(peer string) (errs, warnings []Problem) {
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, Problem{"tls", "cert_file and key_file must be set together"})
	}
	for _, f := range []struct{ key, path string }{{"tls.ca_file", c.CAFile}, {"tls.cert_file", c.CertFile}} {
		if f.path == "" {
			continue
		}
		if _, err := secretfile.ReadCertificate(f.path); err != nil {
			errs = append(errs, Problem{f.key, err.Error()})
		}
	}
	if c.KeyFile != "" {
		if _, w, err := secretfile.ReadCredential(c.KeyFile); err != nil {
			errs = append(errs, Problem{"tls.key_file", err.Error()})
		} else if w != "" {
			warnings = append(warnings, Problem{"tls.key_file", w})
		}
	}
	if c.InsecureSkipVerify {
		warnings = append(warnings, Problem{"tls.insecure_skip_verify",
			"certificate verification is off: whoever is on the path can read the credentials and audit events and answer in " + peer + "'s place"})
	}
	return errs, warnings
}

// CheckInto runs Check and hands each problem to add and each warning to warn, as an
// output's Validate collects them (key, then a format and its arguments).
func (c Client) CheckInto(peer string, add, warn func(key, format string, args ...any)) {
	errs, warnings := c.Check(peer)
	for _, p := range errs {
		add(p.Key, "%s", p.Msg)
	}
	for _, p := range warnings {
		warn(p.Key, "%s", p.Msg)
	}
}

// Config returns the crypto/tls client config for the block: TLS 1.2 or later, the CA
// bundle as RootCAs, the client key pair. Errors name the key whose file failed.
func (c Client) Config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := secretfile.ReadCertificate(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file: no PEM certificate in %s", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := loadKeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file/key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	cfg.InsecureSkipVerify = c.InsecureSkipVerify
	return cfg, nil
}

// loadKeyPair is tls.LoadX509KeyPair with both files read under secretfile's bounds.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := secretfile.ReadCertificate(certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, _, err := secretfile.ReadCredential(keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}
