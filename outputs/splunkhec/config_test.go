package splunkhec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidate: each bad config is refused naming its key; unsafe ones warn.
func TestValidate(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open")
	if err := os.WriteFile(open, []byte(token), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		mod     func(*Config)
		wantErr string
		warn    string
	}{
		{"minimal", func(c *Config) {}, "", ""},
		{"token file", func(c *Config) { c.Token, c.TokenFile = "", tokenFile }, "", ""},
		{"no endpoint", func(c *Config) { c.Endpoint = "" }, "endpoint: is required", ""},
		{"not a URL", func(c *Config) { c.Endpoint = "splunk:8088" }, "endpoint:", ""},
		{"credentials in URL", func(c *Config) { c.Endpoint = "https://u:p@splunk:8088" }, "must not carry credentials", ""},
		{"http", func(c *Config) { c.Endpoint = "http://splunk:8088" }, "", "sent over http://"},
		{"no token", func(c *Config) { c.Token = "" }, "token: a HEC token is required", ""},
		{"both", func(c *Config) { c.TokenFile = tokenFile }, "token_file: set either", ""},
		{"empty token file", func(c *Config) { c.Token, c.TokenFile = "", empty }, "is empty", ""},
		{"missing token file", func(c *Config) { c.Token, c.TokenFile = "", filepath.Join(dir, "none") }, "token_file:", ""},
		{"readable token file", func(c *Config) { c.Token, c.TokenFile = "", open }, "", "accessible by group or others"},
		{"index unclosed", func(c *Config) { c.Index = "audit-%{objectRef.namespace" }, "index:", ""},
		{"index uppercase", func(c *Config) { c.Index = "Audit" }, "lowercase", ""},
		{"compression", func(c *Config) { c.Compression = "zstd" }, "compression: unknown value", ""},
		{"ack timeout", func(c *Config) { c.Ack, c.AckTimeout = true, 0 }, "ack_timeout", ""},
		{"insecure", func(c *Config) { c.TLS.InsecureSkipVerify = true }, "", "Splunk's place"},
		{"cert without key", func(c *Config) { c.TLS.CertFile = tokenFile }, "tls: cert_file and key_file", ""},
		{"batch", func(c *Config) { c.Delivery.BatchMaxEvents = 0 }, "batch_max_events: must be positive", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Endpoint, c.Token = "https://splunk.example:8088", token
			tc.mod(c)
			err := c.Validate()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Validate = %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate = %v, want %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("error carries the token: %v", err)
			}
			w := strings.Join(c.Warnings(), "\n")
			if (tc.warn == "") != (w == "") || !strings.Contains(w, tc.warn) {
				t.Errorf("warnings %q, want %q", w, tc.warn)
			}
		})
	}
}
