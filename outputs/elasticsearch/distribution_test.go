package elasticsearch

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/testing/estest"
	"github.com/auditship/auditship/pipeline"
)

// startFlavor starts an estest node answering as flavor.
func startFlavor(t testing.TB, flavor estest.Flavor, sig *estest.SigV4) *estest.Server {
	t.Helper()
	s, err := estest.Start(estest.Options{Seed: 42, Flavor: flavor, SigV4: sig})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// bodyMapping is how the installed template maps requestObject: its type, or
// "disabled" for an object with enabled: false.
func bodyMapping(t testing.TB, srv *estest.Server, name string) string {
	t.Helper()
	raw, ok := srv.Template(name)
	if !ok {
		t.Fatalf("template %s not installed", name)
	}
	f := parseTemplate(t, raw).Template.Mappings.Properties["requestObject"]
	if f["enabled"] == false {
		return "disabled"
	}
	typ, _ := f["type"].(string)
	return typ
}

// servicePair is issue 13's body case: the same field a number, then a string.
func servicePair(t testing.TB) pipeline.Batch {
	svc := func(port string) string {
		return `{"kind":"Service","apiVersion":"v1","metadata":{"name":"s","labels":{"app":"web","app.kubernetes.io/name":"web"}},"spec":{"ports":[{"port":80,"targetPort":` + port + `}]}}`
	}
	return pipeline.Batch{bodyEvent(t, 1, "requestObject", svc("8080")), bodyEvent(t, 2, "requestObject", svc(`"http"`))}
}

// TestDistributions is issue 13's second kind: the output writes to Elasticsearch 7.17,
// 8 and 9 and to OpenSearch 1 and 2, finding out which from GET / (OpenSearch sends no
// X-Elastic-Product header, which the Elasticsearch client insists on), and maps bodies
// with the type the distribution has.
func TestDistributions(t *testing.T) {
	tests := []struct {
		flavor   estest.Flavor
		compat   string
		wantBody string
	}{
		{estest.Elasticsearch717, CompatAuto, "flattened"},
		{estest.Elasticsearch8, CompatAuto, "flattened"},
		{estest.Elasticsearch9, CompatAuto, "flattened"},
		{estest.Elasticsearch9, CompatElasticsearch, "flattened"},
		{estest.OpenSearch1, CompatAuto, "disabled"},
		{estest.OpenSearch26, CompatAuto, "disabled"},
		{estest.OpenSearch2, CompatAuto, "flat_object"},
		{estest.OpenSearch2, CompatOpenSearch, "flat_object"},
	}
	for _, tt := range tests {
		t.Run(tt.flavor.Distribution+"-"+tt.flavor.Version+"-"+tt.compat, func(t *testing.T) {
			for _, ds := range []bool{false, true} {
				srv := startFlavor(t, tt.flavor, nil)
				out, cfg, m := newTestOutput(t, srv.URL, func(c *Config) {
					c.Compatibility = tt.compat
					if ds {
						c.DataStream = "k8s-audit"
					}
				})
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := out.Ready(ctx); err != nil {
					t.Fatalf("ready: %v", err)
				}
				if err := out.Write(ctx, servicePair(t)); err != nil {
					t.Fatalf("write: %v", err)
				}
				// A replay is answered 409 for each, and is delivered.
				if err := out.Write(ctx, servicePair(t)); err != nil {
					t.Fatalf("replay: %v", err)
				}
				pattern := "k8s-audit-*"
				if ds {
					pattern = cfg.DataStream
				}
				if n := srv.Count(pattern); n != 2 {
					t.Errorf("data stream %v: %d documents, want 2", ds, n)
				}
				if d := m.deadLettered(); d != 0 {
					t.Errorf("data stream %v: %d dead-lettered", ds, d)
				}
				if got := bodyMapping(t, srv, cfg.TemplateName); got != tt.wantBody {
					t.Errorf("bodies mapped as %q, want %q", got, tt.wantBody)
				}
			}
		})
	}
}

// TestCompatibilityMismatchSendsNothing: told to expect one distribution and finding
// the other, the output sends no event and says why; the batch stays to be retried.
func TestCompatibilityMismatchSendsNothing(t *testing.T) {
	tests := []struct {
		flavor estest.Flavor
		compat string
	}{
		{estest.OpenSearch2, CompatElasticsearch},
		{estest.Elasticsearch8, CompatOpenSearch},
	}
	for _, tt := range tests {
		t.Run(tt.compat, func(t *testing.T) {
			srv := startFlavor(t, tt.flavor, nil)
			out, _, _ := newTestOutput(t, srv.URL, func(c *Config) { c.Compatibility = tt.compat })
			err := out.Write(context.Background(), servicePair(t))
			if err == nil || pipeline.IsPermanent(err) || !pipeline.IsMisconfigured(err) || !strings.Contains(err.Error(), "compatibility is "+tt.compat) {
				t.Fatalf("Write = %v, want a Misconfigured (not Permanent) error naming the mismatch", err)
			}
			if err := out.Ready(context.Background()); err == nil {
				t.Error("ready despite the mismatch")
			}
			if st := srv.Stats(); st.BulkRequests != 0 || st.TemplatesPut != 0 {
				t.Errorf("sent %d bulk requests and %d templates, want none", st.BulkRequests, st.TemplatesPut)
			}
		})
	}
}

// TestUnsupportedVersionSendsNothing: Elasticsearch older than 7.10 has no composable
// templates or data streams as the output uses them.
func TestUnsupportedVersionSendsNothing(t *testing.T) {
	srv := startFlavor(t, estest.Flavor{Distribution: "elasticsearch", Version: "6.8.23"}, nil)
	out, _, _ := newTestOutput(t, srv.URL, nil)
	if err := out.Write(context.Background(), servicePair(t)); err == nil || pipeline.IsPermanent(err) || !pipeline.IsMisconfigured(err) || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("Write = %v, want a Misconfigured (not Permanent) error: not supported", err)
	}
	if err := out.Ready(context.Background()); err == nil {
		t.Error("ready although the version is not supported")
	}
	if st := srv.Stats(); st.BulkRequests != 0 {
		t.Errorf("sent %d bulk requests, want none", st.BulkRequests)
	}
}

// awsEnv points the AWS credential chain at the environment only.
func awsEnv(t *testing.T, key, secret, token string) {
	t.Setenv("AWS_ACCESS_KEY_ID", key)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", token)
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
}

// TestSigV4 signs for Amazon OpenSearch Service and Serverless; estest checks every
// signature with its own implementation of the algorithm (the body hashed as sent,
// gzipped or not; the scope; the session token).
func TestSigV4(t *testing.T) {
	const key, secret, token = "AKIDAUDITSHIPTEST", "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ", "session-token-for-tests"
	tests := []struct {
		name        string
		service     string
		compression string
		envSecret   string
		wantOK      bool
		wantBody    string
	}{
		{"es gzip", "es", "gzip", secret, true, "flat_object"},
		{"es plain", "es", "none", secret, true, "flat_object"},
		// Serverless has no GET /: the version is unknown, so bodies are stored only.
		{"aoss", "aoss", "gzip", secret, true, "disabled"},
		{"wrong secret", "es", "gzip", secret + "x", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			awsEnv(t, key, tt.envSecret, token)
			srv := startFlavor(t, estest.OpenSearch2, &estest.SigV4{Region: "eu-west-1", Service: tt.service,
				AccessKeyID: key, SecretAccessKey: secret, SessionToken: token})
			out, cfg, _ := newTestOutput(t, srv.URL, func(c *Config) {
				c.AWSSigV4 = SigV4Config{Region: "eu-west-1", Service: tt.service}
				c.Compression = tt.compression
			})
			err := out.Write(context.Background(), servicePair(t))
			st := srv.Stats()
			if !tt.wantOK {
				if err == nil || st.BadSignature == 0 || srv.Count("*") != 0 {
					t.Fatalf("Write = %v, bad signatures %d, documents %d: want refused", err, st.BadSignature, srv.Count("*"))
				}
				return
			}
			if err != nil {
				t.Fatalf("write: %v", err)
			}
			if st.BadSignature != 0 || st.Signed != st.Requests {
				t.Errorf("%d of %d requests signed, %d refused", st.Signed, st.Requests, st.BadSignature)
			}
			if n := srv.Count("k8s-audit-*"); n != 2 {
				t.Errorf("%d documents, want 2", n)
			}
			if got := bodyMapping(t, srv, cfg.TemplateName); got != tt.wantBody {
				t.Errorf("bodies mapped as %q, want %q", got, tt.wantBody)
			}
		})
	}
}

// TestSigV4WithoutCredentials: no source in the AWS chain has credentials. Nothing is
// sent unsigned; the write fails, to be retried, saying why.
func TestSigV4WithoutCredentials(t *testing.T) {
	awsEnv(t, "", "", "")
	srv := startFlavor(t, estest.OpenSearch2, &estest.SigV4{Region: "eu-west-1", Service: "es", AccessKeyID: "AKID", SecretAccessKey: "s"})
	out, _, _ := newTestOutput(t, srv.URL, func(c *Config) { c.AWSSigV4 = SigV4Config{Region: "eu-west-1", Service: "es"} })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := out.Write(ctx, servicePair(t))
	if err == nil || pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "aws_sigv4") {
		t.Fatalf("Write = %v, want a retryable aws_sigv4 error", err)
	}
	if st := srv.Stats(); st.Requests != 0 {
		t.Errorf("%d requests reached the server", st.Requests)
	}
}
