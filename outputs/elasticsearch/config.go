package elasticsearch

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/delivery"
	"github.com/auditship/auditship/internal/secretfile"
	"github.com/auditship/auditship/internal/tlsconfig"
)

// Secret is a credential from the config; it prints as [redacted].
type Secret = config.Secret

// TLSConfig is how the output verifies Elasticsearch and presents itself to it.
type TLSConfig = tlsconfig.Client

// SigV4Config turns on AWS Signature Version 4 request signing, for Amazon OpenSearch
// Service (service es) and OpenSearch Serverless (service aoss). Credentials come from
// the standard AWS chain: environment, shared config and credentials files, web
// identity (IRSA), ECS and EC2 instance roles.
type SigV4Config struct {
	Region  string `mapstructure:"region"`
	Service string `mapstructure:"service"`
}

// enabled reports whether the section was given at all.
func (s SigV4Config) enabled() bool { return s.Region != "" || s.Service != "" }

// Compatibility values: what the output expects at its addresses.
const (
	CompatAuto          = "auto"
	CompatElasticsearch = "elasticsearch"
	CompatOpenSearch    = "opensearch"
)

// Config is the `type: elasticsearch` output section.
type Config struct {
	Addresses []string `mapstructure:"addresses"`
	CloudID   string   `mapstructure:"cloud_id"`

	// Compatibility is auto (read the distribution and version from GET / before the
	// first write), elasticsearch or opensearch.
	Compatibility string `mapstructure:"compatibility"`
	// AWSSigV4 signs every request for Amazon OpenSearch Service / Serverless.
	AWSSigV4 SigV4Config `mapstructure:"aws_sigv4"`

	Username        string `mapstructure:"username"`
	Password        Secret `mapstructure:"password"`
	PasswordFile    string `mapstructure:"password_file"`
	APIKey          Secret `mapstructure:"api_key"`
	APIKeyFile      string `mapstructure:"api_key_file"`
	BearerToken     Secret `mapstructure:"bearer_token"`
	BearerTokenFile string `mapstructure:"bearer_token_file"`

	TLS TLSConfig `mapstructure:"tls"`

	// Index names the target index; %{+yyyy.MM.dd} is replaced with the event's own
	// requestReceivedTimestamp (UTC).
	Index string `mapstructure:"index"`
	// DataStream, when set, writes to this data stream instead of Index.
	DataStream string `mapstructure:"data_stream"`

	SetupTemplate bool   `mapstructure:"setup_template"`
	TemplateName  string `mapstructure:"template_name"`
	// TemplateBodies is how the template maps requestObject, responseObject and
	// oldObject: flattened (searchable by key) or disabled (stored only).
	TemplateBodies string `mapstructure:"template_bodies"`

	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	Compression    string        `mapstructure:"compression"`
	// Delivery is the batch, concurrency, retry and dead_letter_path keys (events
	// Elasticsearch rejects for good; empty: DATA_DIR/dlq/NAME.ndjson).
	delivery.Delivery `mapstructure:",squash"`

	// warnings are what the last Validate found unsafe but allowed (config.Warner).
	warnings []string
}

// SharedResources implements config.SharedResourcer: with setup_template, the index
// template named template_name on each of the cluster's addresses, described by what
// it maps (the index or data stream pattern and the body mapping). Two outputs that
// install one template name on one cluster for different indices would overwrite each
// other's template at start, leaving one output's indices mapped dynamically (where a
// body of a changed shape is rejected).
func (c *Config) SharedResources() map[string]string {
	if !c.SetupTemplate {
		return nil
	}
	kind, target := "index", c.Index
	if c.DataStream != "" {
		kind, target = "data stream", c.DataStream
	}
	p, err := parseIndexPattern(target)
	if err != nil {
		return nil
	}
	what := fmt.Sprintf("%s %s with template_bodies %s", kind, p.wildcard(), c.TemplateBodies)
	clusters := make([]string, 0, len(c.Addresses))
	for _, a := range c.Addresses {
		clusters = append(clusters, strings.TrimRight(strings.ToLower(strings.TrimSpace(a)), "/"))
	}
	if c.CloudID != "" {
		clusters = append(clusters, "the cloud_id deployment "+strings.SplitN(c.CloudID, ":", 2)[0])
	}
	out := make(map[string]string, len(clusters))
	for _, cl := range clusters {
		out[fmt.Sprintf("index template %q on %s", c.TemplateName, cl)] = what
	}
	return out
}

// Warnings implements config.Warner: certificate verification turned off, credentials
// sent over http://, credential files others can read.
func (c *Config) Warnings() []string { return c.warnings }

// DefaultIndex is the index pattern used when neither index nor data_stream is set.
const DefaultIndex = "k8s-audit-%{+yyyy.MM.dd}"

// DefaultConfig returns the defaults every key falls back to.
func DefaultConfig() *Config {
	return &Config{
		Index:          DefaultIndex,
		Compatibility:  CompatAuto,
		SetupTemplate:  true,
		TemplateName:   "auditship",
		TemplateBodies: "flattened",
		RequestTimeout: time.Minute,
		Compression:    "gzip",
		Delivery: delivery.Config{
			BatchMaxBytes: 5 << 20, BatchMaxEvents: 5000, FlushInterval: time.Second,
			Concurrency: 2, RetryInitial: 100 * time.Millisecond, RetryMax: 30 * time.Second,
		},
	}
}

// Validate reports every problem at once, each naming its key.
func (c *Config) Validate() error {
	var f config.Findings
	add, warn := f.Add, f.Warn
	f.WarnLines(c.DeadLetters.Warnings()...)
	c.checkAddresses(add)
	methods := c.checkAuth(add, warn)
	c.checkCompatibility(methods, add)
	c.TLS.CheckInto("Elasticsearch", add, warn)
	if methods > 0 || c.AWSSigV4.enabled() {
		for i, a := range c.Addresses {
			if config.Cleartext(a) {
				warn(fmt.Sprintf("addresses[%d]", i), "credentials are sent over http:// to %s, readable on the network (with the audit events); use https://", config.RedactURL(a))
			}
		}
	}
	c.checkIndex(add)
	switch c.Compression {
	case "gzip", "none":
	default:
		add("compression", "unknown value %q (gzip, none)", c.Compression)
	}
	if c.RequestTimeout <= 0 {
		add("request_timeout", "must be positive")
	}
	f.AddErrors(c.Delivery.Validate()...)
	c.warnings = f.Warnings()
	return f.Err()
}

type addFunc func(key, format string, args ...any)

// checkAddresses: addresses or cloud_id, each address an http(s) URL without credentials
// (they would end up in logs with the address).
func (c *Config) checkAddresses(add addFunc) {
	switch {
	case len(c.Addresses) == 0 && c.CloudID == "":
		add("addresses", "at least one address (or cloud_id) is required")
	case len(c.Addresses) > 0 && c.CloudID != "":
		add("cloud_id", "set either addresses or cloud_id, not both")
	}
	for i, a := range c.Addresses {
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(fmt.Sprintf("addresses[%d]", i), "%q is not an http:// or https:// URL", config.RedactURL(a))
			continue
		}
		if u.User != nil {
			add(fmt.Sprintf("addresses[%d]", i), "must not carry credentials; use username/password_file or api_key_file")
		}
	}
}

// checkAuth checks the credentials, each inline or from a file read now as the output
// will (so validate fails on a file that cannot serve), and returns how many ways to
// authenticate are set: at most one may be.
func (c *Config) checkAuth(add, warn addFunc) (methods int) {
	for _, s := range []struct {
		key, fileKey string
		inline       Secret
		file         string
	}{
		{"password", "password_file", c.Password, c.PasswordFile},
		{"api_key", "api_key_file", c.APIKey, c.APIKeyFile},
		{"bearer_token", "bearer_token_file", c.BearerToken, c.BearerTokenFile},
	} {
		secretfile.CheckInlineOrFile(s.key, s.fileKey, string(s.inline), s.file, "", add, warn)
		if s.inline != "" || s.file != "" {
			methods++
		}
	}
	if c.Username != "" && c.Password == "" && c.PasswordFile == "" {
		add("password", "username is set but neither password nor password_file is")
	}
	if c.Username == "" && (c.Password != "" || c.PasswordFile != "") {
		add("username", "is required with password or password_file")
	}
	if methods > 1 {
		add("api_key", "choose one of username/password, api_key or bearer_token")
	}
	return methods
}

// checkCompatibility checks compatibility and aws_sigv4 against each other and the rest.
func (c *Config) checkCompatibility(methods int, add addFunc) {
	switch c.Compatibility {
	case CompatAuto, CompatElasticsearch, CompatOpenSearch:
	default:
		add("compatibility", "unknown value %q (auto, elasticsearch, opensearch)", c.Compatibility)
	}
	if c.CloudID != "" && c.Compatibility == CompatOpenSearch {
		add("compatibility", "is opensearch, but cloud_id names an Elastic Cloud deployment")
	}
	if !c.AWSSigV4.enabled() {
		return
	}
	if c.AWSSigV4.Region == "" {
		add("aws_sigv4.region", "is required (e.g. eu-west-1)")
	}
	switch c.AWSSigV4.Service {
	case "es", "aoss":
	case "":
		add("aws_sigv4.service", "is required: es (Amazon OpenSearch Service) or aoss (OpenSearch Serverless)")
	default:
		add("aws_sigv4.service", "unknown value %q (es, aoss)", c.AWSSigV4.Service)
	}
	if methods > 0 {
		// Both would claim the Authorization header.
		add("aws_sigv4", "cannot be combined with username/password, api_key or bearer_token")
	}
	if c.CloudID != "" {
		add("aws_sigv4", "cannot be combined with cloud_id (an Elastic Cloud deployment)")
	}
	if c.Compatibility == CompatElasticsearch {
		add("compatibility", "is elasticsearch, but aws_sigv4 is for Amazon OpenSearch Service")
	}
}

// checkIndex checks index or data_stream, and the template keys.
func (c *Config) checkIndex(add addFunc) {
	if c.DataStream != "" {
		if c.Index != DefaultIndex && c.Index != "" {
			add("data_stream", "set either index or data_stream, not both")
		}
		if err := validIndexName(c.DataStream); err != nil {
			add("data_stream", "%v", err)
		}
	} else if _, err := parseIndexPattern(c.Index); err != nil {
		add("index", "%v", err)
	}
	if c.SetupTemplate {
		if err := validIndexName(c.TemplateName); err != nil {
			add("template_name", "%v", err)
		}
	}
	switch c.TemplateBodies {
	case "flattened", "disabled":
	default:
		add("template_bodies", "unknown value %q (flattened, disabled)", c.TemplateBodies)
	}
}

// readSecret returns the inline value or the trimmed content of file (secretfile).
func readSecret(key string, inline Secret, file string) (string, error) {
	return secretfile.InlineOrFile(key+"_file", string(inline), file)
}
