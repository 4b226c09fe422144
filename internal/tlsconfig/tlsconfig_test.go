package tlsconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheck: each wrong block is named by its key; verification off is a warning that
// names the peer.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		c        Client
		wantErr  string
		wantWarn string
	}{
		{"empty", Client{}, "", ""},
		{"cert without key", Client{CertFile: notPEM}, "tls", ""},
		{"key without cert", Client{KeyFile: notPEM}, "tls", ""},
		{"missing ca", Client{CAFile: filepath.Join(dir, "none.pem")}, "tls.ca_file", ""},
		{"insecure", Client{InsecureSkipVerify: true}, "", "Splunk's place"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs, warns := tc.c.Check("Splunk")
			if (tc.wantErr == "") != (len(errs) == 0) || (len(errs) > 0 && errs[0].Key != tc.wantErr) {
				t.Errorf("errs = %v, want key %q", errs, tc.wantErr)
			}
			if (tc.wantWarn == "") != (len(warns) == 0) || (len(warns) > 0 && !strings.Contains(warns[0].Msg, tc.wantWarn)) {
				t.Errorf("warnings = %v, want %q", warns, tc.wantWarn)
			}
		})
	}
	if _, err := (Client{CAFile: notPEM}).Config(); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("Config with a CA file holding no certificate: %v", err)
	}
}
