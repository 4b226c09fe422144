package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// esOutput replaces validBase's output by an elasticsearch one with the given keys.
func esOutput(keys string) string {
	return strings.Replace(validBase, "  debug:\n    type: file\n    path: %DIR%/out.ndjson\n",
		"  siem:\n    type: elasticsearch\n"+keys, 1)
}

// TestValidateCredentialFiles: a credential file that cannot serve (a device, a FIFO, a
// directory, too large, empty) fails validate at once with a line naming its key,
// whichever key names it; one others can read passes with a warning.
func TestValidateCredentialFiles(t *testing.T) {
	dir := t.TempDir()
	paths := map[string]string{}
	for _, f := range []struct {
		name string
		size int
		mode os.FileMode
	}{{"good", 40, 0o600}, {"wide", 40, 0o644}, {"big", 100 << 10, 0o600}, {"empty", 0, 0o600}} {
		paths[f.name] = filepath.Join(dir, f.name)
		if err := os.WriteFile(paths[f.name], []byte(strings.Repeat("k", f.size)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(paths[f.name], f.mode); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
	good, wide, big, empty := paths["good"], paths["wide"], paths["big"], paths["empty"]
	redact := func(keyFile string) string {
		return strings.Replace(validBase, "filters:\n", "filters:\n  - type: redact\n    paths: [requestObject.data]\n    action: hash\n    hash_key_file: "+keyFile+"\n", 1)
	}
	es := func(key, path string) string {
		return esOutput("    addresses: [\"https://es.example:9200\"]\n    " + key + ": " + path + "\n")
	}
	esUser := func(path string) string {
		return esOutput("    addresses: [\"https://es.example:9200\"]\n    username: shipper\n    password_file: " + path + "\n")
	}
	tls := func(key, path string) string {
		return esOutput("    addresses: [\"https://es.example:9200\"]\n    tls:\n      " + key + ": " + path + "\n" +
			map[bool]string{true: "      cert_file: " + good + "\n", false: ""}[key == "key_file"])
	}
	for _, bad := range []struct{ name, body, want string }{
		{"api_key_file /dev/zero", es("api_key_file", "/dev/zero"), "api_key_file: /dev/zero is not a regular file (a character device)"},
		{"api_key_file directory", es("api_key_file", dir), "is not a regular file (a directory)"},
		{"api_key_file too large", es("api_key_file", big), "api_key_file: " + big + " is 102400 bytes; at most 65536"},
		{"api_key_file empty", es("api_key_file", empty), "api_key_file: " + empty + " is empty"},
		{"password_file /dev/zero", esUser("/dev/zero"), "password_file: /dev/zero is not a regular file"},
		{"hash_key_file /dev/zero", redact("/dev/zero"), "hash_key_file: /dev/zero is not a regular file"},
		{"hash_key_file too large", redact(big), "hash_key_file: " + big + " is 102400 bytes"},
		{"tls.key_file /dev/zero", tls("key_file", "/dev/zero"), "tls.key_file: /dev/zero is not a regular file"},
		{"tls.ca_file /dev/zero", tls("ca_file", "/dev/zero"), "tls.ca_file: /dev/zero is not a regular file"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			code, _, stderr := run(t, "", "validate", "-c", writeConfig(t, t.TempDir(), bad.body))
			if code != exitUsage || !strings.Contains(stderr, bad.want) {
				t.Fatalf("exit %d, want %d and %q; stderr:\n%s", code, exitUsage, bad.want, stderr)
			}
		})
	}
	for _, warn := range []struct{ name, body, want string }{
		{"api_key_file 0644", es("api_key_file", wide), "api_key_file: " + wide + " is accessible by group or others (mode 0644)"},
		{"hash_key_file 0644", redact(wide), "hash_key_file: " + wide + " is accessible by group or others"},
		{"api_key_file 0600", es("api_key_file", good), ""},
	} {
		t.Run(warn.name, func(t *testing.T) {
			code, stdout, stderr := run(t, "", "validate", "-c", writeConfig(t, t.TempDir(), warn.body))
			if code != exitOK || !strings.Contains(stdout, "valid") {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			if warn.want == "" && strings.Contains(stderr, "warning") || !strings.Contains(stderr, "warning: ") && warn.want != "" || !strings.Contains(stderr, warn.want) {
				t.Fatalf("stderr = %q, want a warning %q", stderr, warn.want)
			}
		})
	}
}

// TestInsecureTransportWarned: certificate verification turned off and credentials over
// http:// pass validate with a warning each, and the agent logs them at ERROR when it
// starts even with logging turned off.
func TestInsecureTransportWarned(t *testing.T) {
	key := filepath.Join(t.TempDir(), "api-key")
	if err := os.WriteFile(key, []byte("k3y"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, body string
		want       []string
	}{
		{"insecure_skip_verify", esOutput("    addresses: [\"https://es.example:9200\"]\n    tls:\n      insecure_skip_verify: true\n"),
			[]string{"tls.insecure_skip_verify: certificate verification is off"}},
		{"api key over http", esOutput("    addresses: [\"https://es1.example:9200\", \"http://es2.example:9200\"]\n    api_key_file: " + key + "\n"),
			[]string{"addresses[1]: credentials are sent over http:// to http://es2.example:9200"}},
		{"password over http", esOutput("    addresses: [\"http://10.0.0.5:9200\"]\n    username: shipper\n    password: hunter2\n"),
			[]string{"addresses[0]: credentials are sent over http://"}},
		{"both", esOutput("    addresses: [\"http://es.example:9200\"]\n    bearer_token: t0k\n    tls:\n      insecure_skip_verify: true\n"),
			[]string{"insecure_skip_verify", "addresses[0]: credentials are sent over http://"}},
		{"s3 endpoint over http", strings.Replace(validBase, "  debug:\n    type: file\n    path: %DIR%/out.ndjson\n",
			"  archive:\n    type: object_store\n    url: s3://bucket/audit/\n    endpoint: http://minio.example:9000\n", 1),
			[]string{"endpoint: http://minio.example:9000 is http://"}},
		{"sigv4 over http", esOutput("    addresses: [\"http://search.example:80\"]\n    aws_sigv4:\n      region: eu-west-1\n      service: es\n"),
			[]string{"addresses[0]: credentials are sent over http://"}},
		{"http without credentials", esOutput("    addresses: [\"http://es.example:9200\"]\n"), nil},
		{"credentials over http to loopback", esOutput("    addresses: [\"http://127.0.0.1:9200\"]\n    api_key_file: " + key + "\n"), nil},
		{"https with credentials", esOutput("    addresses: [\"https://es.example:9200\"]\n    api_key_file: " + key + "\n"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, t.TempDir(), tc.body)
			code, _, stderr := run(t, "", "validate", "-c", p)
			if code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			if len(tc.want) == 0 && stderr != "" {
				t.Fatalf("unexpected warnings:\n%s", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, "warning: ") || !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks warning %q:\n%s", w, stderr)
				}
			}
		})
	}

	// The agent, with logging off, still logs them at ERROR as it starts.
	dir := t.TempDir()
	for _, level := range []string{"off", "error"} {
		cfg := writeConfig(t, dir, fmt.Sprintf("log_level: %s\nhttp:\n  listen: \"\"\n", level)+
			esOutput("    addresses: [\"http://127.0.0.1:1\"]\n    bearer_token: t0k\n    tls:\n      insecure_skip_verify: true\n"))
		a := startAgent(t, cfg)
		waitFor(t, "the warning", func() bool { return strings.Contains(a.stderr.String(), "insecure configuration") })
		a.stop(t)
		out := a.stderr.String()
		if !strings.Contains(out, "[ERROR] auditship: insecure configuration") || !strings.Contains(out, "tls.insecure_skip_verify") {
			t.Fatalf("log_level %s: stderr:\n%s", level, out)
		}
	}
}
