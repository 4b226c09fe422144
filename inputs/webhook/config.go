// Package webhook is the `type: webhook` input: it receives kube-apiserver's audit
// webhook backend (--audit-webhook-config-file), which POSTs audit.k8s.io EventLists, and
// answers 200 only once every item of a request is appended to a spool segment and
// fsynced. kube-apiserver sends a batch no more once it got its 200, so an answer given
// before the events are on disk would lose them on a crash.
//
// The spool's segments are read by the file input (inputs/file) over spool_dir/*.ndjson:
// checkpoints after delivery, restart and SIGKILL behave as for a followed audit log. A
// segment the spool writes no more is deleted once the file input's saved checkpoint
// reaches its end.
package webhook

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// TLS is the server side of the listener. ClientCAFile, when set, requires a client
// certificate signed by it (kube-apiserver's client-certificate in the webhook kubeconfig).
type TLS struct {
	CertFile     string `mapstructure:"cert_file"`
	KeyFile      string `mapstructure:"key_file"`
	ClientCAFile string `mapstructure:"client_ca_file"`
}

// Config is the `type: webhook` input's section (issue 17's contract).
type Config struct {
	// Listen is host:port; for a DaemonSet on control-plane nodes, 127.0.0.1:port.
	Listen string `mapstructure:"listen"`
	// Path is the POST path; kube-apiserver appends a ?timeout= query, which is ignored.
	Path string `mapstructure:"path"`
	TLS  TLS    `mapstructure:"tls"`
	// BearerTokenFile, when set, requires `Authorization: Bearer <its content>` (the
	// kubeconfig user's token); the content is trimmed of surrounding white space.
	BearerTokenFile string `mapstructure:"bearer_token_file"`
	// AllowPlainHTTP serves http:// without TLS: for loopback tests only.
	AllowPlainHTTP bool `mapstructure:"allow_plain_http"`
	// MaxRequestBytes bounds a request body, after gzip decompression too: 413 beyond.
	MaxRequestBytes config.ByteSize `mapstructure:"max_request_bytes"`
	// SpoolDir holds the segments; default <data_dir>/spool/<input name>.
	SpoolDir string `mapstructure:"spool_dir"`
	// MaxSpoolBytes: while the segments hold this much, requests are answered 429 with
	// Retry-After; kube-apiserver retries them with backoff.
	MaxSpoolBytes config.ByteSize `mapstructure:"max_spool_bytes"`

	warnings []string
}

// Defaults.
const (
	DefaultPath            = "/audit"
	DefaultMaxRequestBytes = 64 << 20
	DefaultMaxSpoolBytes   = 2 << 30
)

// NewConfig returns a Config holding the defaults.
func NewConfig() *Config {
	return &Config{Path: DefaultPath, MaxRequestBytes: DefaultMaxRequestBytes, MaxSpoolBytes: DefaultMaxSpoolBytes}
}

// Validate reports every bad key at once.
func (c *Config) Validate() error {
	var errs []error
	c.warnings = nil
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Listen == "" {
		bad("listen", "required (host:port, e.g. 127.0.0.1:9443)")
	} else if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		bad("listen", "must be host:port, not %q", c.Listen)
	}
	if !strings.HasPrefix(c.Path, "/") {
		bad("path", "must start with /, not %q", c.Path)
	}
	hasTLS := c.TLS.CertFile != "" || c.TLS.KeyFile != ""
	switch {
	case !hasTLS && !c.AllowPlainHTTP:
		bad("tls", "cert_file and key_file are required unless allow_plain_http: true (loopback tests only)")
	case hasTLS && (c.TLS.CertFile == "" || c.TLS.KeyFile == ""):
		bad("tls", "cert_file and key_file go together")
	case hasTLS && c.AllowPlainHTTP:
		bad("allow_plain_http", "must not be set together with tls")
	}
	if c.TLS.ClientCAFile != "" && !hasTLS {
		bad("tls.client_ca_file", "needs tls.cert_file and tls.key_file (client certificates need TLS)")
	}
	for key, p := range map[string]string{"tls.cert_file": c.TLS.CertFile, "tls.key_file": c.TLS.KeyFile,
		"tls.client_ca_file": c.TLS.ClientCAFile, "bearer_token_file": c.BearerTokenFile} {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err != nil {
			bad(key, "cannot be read: %v", err)
		} else if !fi.Mode().IsRegular() {
			bad(key, "%s is not a regular file", p)
		}
	}
	if c.MaxRequestBytes < 1024 {
		bad("max_request_bytes", "must be at least 1KiB, not %v", c.MaxRequestBytes)
	}
	if c.MaxSpoolBytes < c.MaxRequestBytes {
		bad("max_spool_bytes", "must be at least max_request_bytes (%v), not %v", c.MaxRequestBytes, c.MaxSpoolBytes)
	}
	if c.AllowPlainHTTP && c.Listen != "" {
		if host, _, err := net.SplitHostPort(c.Listen); err == nil && !isLoopback(host) {
			c.warnings = append(c.warnings, fmt.Sprintf("allow_plain_http: audit events (with request bodies) travel in clear text to %s; use it on loopback only", c.Listen))
		}
	}
	if c.BearerTokenFile == "" && c.TLS.ClientCAFile == "" && c.Listen != "" {
		if host, _, err := net.SplitHostPort(c.Listen); err == nil && !isLoopback(host) {
			c.warnings = append(c.warnings, "neither tls.client_ca_file nor bearer_token_file is set: anyone who reaches "+c.Listen+" can write audit events")
		}
	}
	return errors.Join(errs...)
}

// Warnings returns what the last Validate found allowed but unsafe.
func (c *Config) Warnings() []string { return c.warnings }

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewFactory returns the factory of the `webhook` input type.
func NewFactory() config.InputFactory {
	return config.InputFactory{
		Type:      "webhook",
		NewConfig: func() any { return NewConfig() },
		Create: func(cfg any, set config.Settings) (pipeline.Input, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, fmt.Errorf("webhook input: unexpected config type %T", cfg)
			}
			return New(c, set)
		},
	}
}
