package config

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://elastic:PASSWORD@es.example:9200", "https://REDACTED@es.example:9200"},
		{"htps://elastic:PASSWORD@host", "htps://REDACTED@host"},
		{"http://user@host/path", "http://REDACTED@host/path"},
		{"http://u:p@ss@host", "http://REDACTED@host"},
		{"https://u:pa/ss@host:9200", "https://REDACTED@host:9200"},
		{"https://u:pa ss@host", "https://REDACTED@host"},
		{"elastic:PASSWORD@host:9200", "REDACTED@host:9200"},
		{"://x:PASSWORD@host", "://REDACTED@host"},
		{"s3://AKIA:SECRET@bucket/prefix/", "s3://REDACTED@bucket/prefix/"},
		{"https://es.example:9200", "https://es.example:9200"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactURLs(t *testing.T) {
	for _, in := range []string{
		`outputs.siem.addresses[0]: "htps://elastic:PASSWORD@host" is not an http:// or https:// URL`,
		`parse "http://elastic:PASSWORD@host:bad": invalid port`,
		`endpoint: 'https://minio:PASSWORD@127.0.0.1:9000' expected a map`,
		`two: http://a:PASSWORD@h1 and https://b:PASSWORD@x@h2/p`,
	} {
		got := RedactURLs(in)
		if strings.Contains(got, "PASSWORD") || !strings.Contains(got, "REDACTED@") {
			t.Errorf("RedactURLs(%q) = %q", in, got)
		}
	}
	if got := RedactURLs("user@example.com is not allowed"); got != "user@example.com is not allowed" {
		t.Errorf("plain e-mail address changed: %q", got)
	}
}

func TestCleartext(t *testing.T) {
	for in, want := range map[string]bool{
		"http://es.example:9200":   true,
		"HTTP://10.0.0.5:9200":     true,
		"http://[fd00::1]:9200":    true,
		"https://es.example:9200":  false,
		"http://127.0.0.1:9200":    false,
		"http://127.8.0.1:9200":    false,
		"http://localhost:9200":    false,
		"http://[::1]:9200":        false,
		"http://localhost.evil.io": true,
		"htp://x":                  false,
	} {
		if got := Cleartext(in); got != want {
			t.Errorf("Cleartext(%q) = %v, want %v", in, got, want)
		}
	}
}
