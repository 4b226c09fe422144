package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/agent"
)

// TestValidateNeverQuotesURLCredentials: a URL with userinfo is quoted by validate
// without it, whether it is malformed, in the file or in an AUDITSHIP_* override, for
// Elasticsearch addresses and the object store's endpoint and url alike.
func TestValidateNeverQuotesURLCredentials(t *testing.T) {
	es := func(addr string) string {
		return strings.Replace(validBase, "  debug:\n    type: file\n    path: %DIR%/out.ndjson\n",
			"  siem:\n    type: elasticsearch\n    addresses: [\""+addr+"\"]\n", 1)
	}
	s3 := func(keys string) string {
		return strings.Replace(validBase, "  debug:\n    type: file\n    path: %DIR%/out.ndjson\n",
			"  archive:\n    type: object_store\n"+keys, 1)
	}
	tests := []struct {
		name string
		body string
		env  map[string]string
	}{
		{"es scheme typo", es("htps://elastic:PASSW0RD@es.example:9200"), nil},
		{"es bad port", es("https://elastic:PASSW0RD@es.example:92x0"), nil},
		{"es no scheme", es("elastic:PASSW0RD@es.example:9200"), nil},
		{"es password with slash", es("https://elastic:PASS/W0RD@es.example:9200"), nil},
		{"es valid URL with credentials", es("https://elastic:PASSW0RD@es.example:9200"), nil},
		{"s3 endpoint", s3("    url: s3://bucket/audit/\n    endpoint: htps://minio:PASSW0RD@127.0.0.1:9000\n"), nil},
		{"s3 url", s3("    url: s3x://AKIA:PASSW0RD@bucket/audit/\n"), nil},
		{"s3 endpoint with credentials", s3("    url: s3://bucket/audit/\n    endpoint: http://minio:PASSW0RD@127.0.0.1:9000\n"), nil},
		{"s3 url with credentials", s3("    url: s3://AKIA:PASSW0RD@bucket/audit/\n"), nil},
		{"env override", s3("    url: s3://bucket/audit/\n    endpoint: http://127.0.0.1:9000\n"),
			map[string]string{"AUDITSHIP_OUTPUTS_ARCHIVE_ENDPOINT": "htps://minio:PASSW0RD@127.0.0.1:9000"}},
		{"env override of an unset key", s3("    url: s3://bucket/audit/\n"),
			map[string]string{"AUDITSHIP_OUTPUTS_ARCHIVE_ENDPOINT": "ftp://minio:PASSW0RD@127.0.0.1:9000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			p := writeConfig(t, t.TempDir(), tc.body)
			code, stdout, stderr := run(t, "", "validate", "-c", p)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d (the URL is refused); stderr:\n%s", code, exitUsage, stderr)
			}
			if strings.Contains(stdout+stderr, "PASS") {
				t.Fatalf("output quotes the credentials:\n%s%s", stdout, stderr)
			}
		})
	}
}

// TestReloadLogNeverQuotesURLCredentials: an invalid config on reload is logged at ERROR
// without the userinfo of the URL it quotes.
func TestReloadLogNeverQuotesURLCredentials(t *testing.T) {
	body := strings.Replace(validBase, "  debug:\n    type: file\n    path: %DIR%/out.ndjson\n",
		"  siem:\n    type: elasticsearch\n    addresses: [\"htps://elastic:PASSW0RD@es.example:9200\"]\n", 1)
	p := writeConfig(t, t.TempDir(), body)
	var buf bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Error})
	if cfg := tryReload(p, agent.Factories(), agent.Env{Logger: log}, ""); cfg != nil {
		t.Fatal("an invalid config was accepted on reload")
	}
	if !strings.Contains(buf.String(), "REDACTED@es.example") || strings.Contains(buf.String(), "PASSW0RD") {
		t.Fatalf("reload log:\n%s", buf.String())
	}
}

// TestValidateNeverQuotesCredentialValues: a credential given in the wrong shape is
// reported by key, without the value the decoder would quote.
func TestValidateNeverQuotesCredentialValues(t *testing.T) {
	for _, keys := range []string{
		"    username: shipper\n    password: {value: HUNTER2-SECRET}\n",
		"    username: shipper\n    password: [HUNTER2-SECRET, x]\n",
		"    api_key: {id: HUNTER2-SECRET}\n",
		"    bearer_token: [HUNTER2-SECRET, x]\n",
	} {
		p := writeConfig(t, t.TempDir(), esOutput("    addresses: [\"https://es.example:9200\"]\n"+keys))
		code, stdout, stderr := run(t, "", "validate", "-c", p)
		if code != exitUsage || !strings.Contains(stderr, "not shown: the key holds a credential") {
			t.Errorf("%q: exit %d, stderr %q", keys, code, stderr)
		}
		if strings.Contains(stdout+stderr, "HUNTER2") {
			t.Errorf("%q: output quotes the credential:\n%s", keys, stderr)
		}
	}
}

// TestValidateBoundsFilesTheConfigNames: the config file itself and a policy_file are
// read under a bound: a device or a FIFO fails at once instead of reading forever.
func TestValidateBoundsFilesTheConfigNames(t *testing.T) {
	if code, _, stderr := run(t, "", "validate", "-c", "/dev/zero"); code != exitUsage || !strings.Contains(stderr, "/dev/zero is not a regular file") {
		t.Errorf("-c /dev/zero: exit %d, stderr %q", code, stderr)
	}
	body := strings.Replace(validBase, "filters:\n", "filters:\n  - type: audit_policy\n    policy_file: /dev/zero\n", 1)
	code, _, stderr := run(t, "", "validate", "-c", writeConfig(t, t.TempDir(), body))
	if code != exitUsage || !strings.Contains(stderr, "/dev/zero is not a regular file") {
		t.Errorf("policy_file /dev/zero: exit %d, stderr %q", code, stderr)
	}
}
