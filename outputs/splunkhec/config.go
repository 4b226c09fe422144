package splunkhec

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/delivery"
	"github.com/auditship/auditship/internal/secretfile"
	"github.com/auditship/auditship/internal/tlsconfig"
)

// Secret is a credential from the config; it prints as [redacted].
type Secret = config.Secret

// Default sourcetypes: kube-apiserver audit events, and kube-audit-rest lines (admission
// reviews normalised into the audit Event shape), which carry less and mean another
// thing by their time.
const (
	DefaultSourcetype              = "kube:apiserver:audit"
	DefaultSourcetypeKubeAuditRest = "kube:audit-rest"
)

// Config is the `type: splunk_hec` output section.
type Config struct {
	// Endpoint is the HEC base URL (https://splunk.example:8088); the output posts to
	// ENDPOINT/services/collector/event.
	Endpoint string `mapstructure:"endpoint"`
	// Token is the HEC token, or TokenFile a file holding it (or the environment:
	// AUDITSHIP_OUTPUTS_<NAME>_TOKEN / _TOKEN_FILE).
	Token     Secret `mapstructure:"token"`
	TokenFile string `mapstructure:"token_file"`

	TLS tlsconfig.Client `mapstructure:"tls"`

	// Index is the Splunk index; empty: the token's default index. %{path} is replaced
	// with the event's member at the dotted path (%{objectRef.namespace}); an event
	// without it goes to the token's default index.
	Index string `mapstructure:"index"`
	// Source is the envelope's source for every event; empty: the name of the input the
	// event was read from (pipeline.Event.Input), or, for an event without one,
	// kube-apiserver or kube-audit-rest by its format.
	Source string `mapstructure:"source"`
	// Sourcetype is the sourcetype of kube-apiserver audit events,
	// SourcetypeKubeAuditRest that of kube-audit-rest lines.
	Sourcetype              string `mapstructure:"sourcetype"`
	SourcetypeKubeAuditRest string `mapstructure:"sourcetype_kube_audit_rest"`
	// Host is the envelope's host; empty: the node name (NODE_NAME, else the hostname).
	Host string `mapstructure:"host"`
	// Cluster, when set, is the indexed field cluster of every event.
	Cluster string `mapstructure:"cluster"`

	// Ack turns on indexer acknowledgement: a batch counts as delivered only once
	// /services/collector/ack reports it indexed.
	Ack bool `mapstructure:"ack"`
	// AckPollInterval is the time between ack queries; AckTimeout how long a batch waits
	// for its ack before it is sent again (a lost ack: at least once, not exactly once).
	AckPollInterval time.Duration `mapstructure:"ack_poll_interval"`
	AckTimeout      time.Duration `mapstructure:"ack_timeout"`

	Compression    string        `mapstructure:"compression"`
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	// Delivery is the batch, concurrency, retry and dead_letter_path keys (events Splunk
	// refuses for good; empty: DATA_DIR/dlq/NAME.ndjson).
	delivery.Delivery `mapstructure:",squash"`

	warnings []string
}

// Warnings implements config.Warner.
func (c *Config) Warnings() []string { return c.warnings }

// DefaultConfig returns the defaults every key falls back to. A batch stays under 1 MiB,
// Splunk Cloud's HEC request limit.
func DefaultConfig() *Config {
	return &Config{
		Sourcetype:              DefaultSourcetype,
		SourcetypeKubeAuditRest: DefaultSourcetypeKubeAuditRest,
		AckPollInterval:         time.Second,
		AckTimeout:              5 * time.Minute,
		Compression:             "gzip",
		RequestTimeout:          time.Minute,
		Delivery: delivery.Config{
			BatchMaxBytes: 1 << 20, BatchMaxEvents: 1000, FlushInterval: time.Second,
			Concurrency: 2, RetryInitial: 100 * time.Millisecond, RetryMax: 30 * time.Second,
		},
	}
}

// indexName is what a Splunk index name may be: lowercase letters, digits, _ and -, not
// starting with _ or - (the template parts are checked once filled in).
var indexName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Validate reports every problem at once, each naming its key.
func (c *Config) Validate() error {
	var f config.Findings
	add, warn := f.Add, f.Warn

	u, err := url.Parse(c.Endpoint)
	switch {
	case c.Endpoint == "":
		add("endpoint", "is required (e.g. https://splunk.example:8088)")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		add("endpoint", "%q is not an http:// or https:// URL", config.RedactURL(c.Endpoint))
	case u.User != nil:
		add("endpoint", "must not carry credentials; use token_file")
	case config.Cleartext(c.Endpoint):
		warn("endpoint", "the HEC token is sent over http:// to %s, readable on the network (with the audit events); use https://", config.RedactURL(c.Endpoint))
	}

	secretfile.CheckInlineOrFile("token", "token_file", string(c.Token), c.TokenFile,
		"a HEC token is required: token_file, or AUDITSHIP_OUTPUTS_<NAME>_TOKEN", add, warn)

	c.TLS.CheckInto("Splunk", add, warn)

	if _, err := parseTemplate(c.Index); err != nil {
		add("index", "%v", err)
	}
	for _, s := range []struct{ key, v string }{{"sourcetype", c.Sourcetype}, {"sourcetype_kube_audit_rest", c.SourcetypeKubeAuditRest}} {
		if strings.TrimSpace(s.v) == "" {
			add(s.key, "must not be empty")
		}
	}
	switch c.Compression {
	case "gzip", "none":
	default:
		add("compression", "unknown value %q (gzip, none)", c.Compression)
	}
	f.AddErrors(c.Delivery.Validate()...)
	f.WarnLines(c.DeadLetters.Warnings()...)
	if c.RequestTimeout <= 0 {
		add("request_timeout", "must be positive")
	}
	if c.Ack && (c.AckPollInterval <= 0 || c.AckTimeout < c.AckPollInterval) {
		add("ack_timeout", "ack_poll_interval must be positive and ack_timeout at least as long")
	}
	c.warnings = f.Warnings()
	return f.Err()
}
