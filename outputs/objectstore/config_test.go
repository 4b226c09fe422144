package objectstore

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		want []string // substrings of the error; none means valid
	}{
		{"s3 defaults", func(c *Config) { c.URL = "s3://bkt/prod/" }, nil},
		{"file defaults", func(c *Config) { c.URL = "file:///var/lib/auditship/archive/" }, nil},
		{"missing url", func(c *Config) {}, []string{"url: required"}},
		{"bad scheme", func(c *Config) { c.URL = "gs://bkt/" }, []string{"url:", "unsupported scheme"}},
		{"no bucket", func(c *Config) { c.URL = "s3:///prefix/" }, []string{"url:", "no bucket"}},
		{"query", func(c *Config) { c.URL = "s3://bkt/p/?x=1" }, []string{"url:", "query"}},
		{"bad endpoint", func(c *Config) { c.URL = "s3://bkt/"; c.Endpoint = "127.0.0.1:9000" }, []string{"endpoint:"}},
		{"endpoint on file", func(c *Config) { c.URL = "file:///tmp/x"; c.Endpoint = "http://127.0.0.1:9000" }, []string{"endpoint: only applies to s3://"}},
		{"sse on file", func(c *Config) { c.URL = "file:///tmp/x"; c.ServerSideEncryption = "AES256" }, []string{"server_side_encryption: only applies"}},
		{"compression", func(c *Config) { c.URL = "s3://bkt/"; c.Compression = "lz4" }, []string{"compression: unknown \"lz4\""}},
		{"zero size", func(c *Config) { c.URL = "s3://bkt/"; c.MaxObjectBytes = 0 }, []string{"max_object_bytes:"}},
		{"short age", func(c *Config) { c.URL = "s3://bkt/"; c.MaxObjectAge = time.Millisecond }, []string{"max_object_age:"}},
		{"node name", func(c *Config) { c.URL = "s3://bkt/"; c.NodeName = "a/b" }, []string{"node_name:"}},
		{"sse unknown", func(c *Config) { c.URL = "s3://bkt/"; c.ServerSideEncryption = "aes" }, []string{"server_side_encryption: unknown"}},
		{"kms key without kms", func(c *Config) { c.URL = "s3://bkt/"; c.SSEKMSKeyID = "k" }, []string{"sse_kms_key_id: requires"}},
		{"kms", func(c *Config) { c.URL = "s3://bkt/"; c.ServerSideEncryption = "aws:kms"; c.SSEKMSKeyID = "k" }, nil},
		{"part size", func(c *Config) { c.URL = "s3://bkt/"; c.PartSize = 1 << 20 }, []string{"part_size:"}},
		{"upload timeout", func(c *Config) { c.URL = "s3://bkt/"; c.UploadTimeout = 0 }, []string{"upload_timeout:"}},
		{"all at once", func(c *Config) { c.Compression = "x"; c.PartSize = 0 }, []string{"url:", "compression:", "part_size:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewConfig()
			tt.edit(c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url  string
		want location
	}{
		{"s3://bkt", location{scheme: schemeS3, bucket: "bkt"}},
		{"s3://bkt/", location{scheme: schemeS3, bucket: "bkt"}},
		{"s3://bkt/prod", location{scheme: schemeS3, bucket: "bkt", prefix: "prod/"}},
		{"s3://bkt/a/b/", location{scheme: schemeS3, bucket: "bkt", prefix: "a/b/"}},
		{"file:///var/archive/", location{scheme: schemeFile, dir: "/var/archive/"}},
		{"file://localhost/var/archive", location{scheme: schemeFile, dir: "/var/archive"}},
	}
	for _, tt := range tests {
		got, err := parseURL(tt.url)
		if err != nil || got != tt.want {
			t.Errorf("parseURL(%q) = %+v, %v; want %+v", tt.url, got, err, tt.want)
		}
	}
	rel, err := parseURL("file://archive/out")
	if err != nil || !strings.HasSuffix(rel.dir, "/archive/out") || !strings.HasPrefix(rel.dir, "/") {
		t.Errorf("relative file url = %+v, %v; want an absolute dir ending in /archive/out", rel, err)
	}
}
