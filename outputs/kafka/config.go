package kafka

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/delivery"
	"github.com/auditship/auditship/internal/evtemplate"
	"github.com/auditship/auditship/internal/secretfile"
	"github.com/auditship/auditship/internal/tlsconfig"
)

// Secret is a credential from the config; it prints as [redacted].
type Secret = config.Secret

// SASL mechanisms.
const (
	MechPlain       = "PLAIN"
	MechScramSHA256 = "SCRAM-SHA-256"
	MechScramSHA512 = "SCRAM-SHA-512"
)

// SASLConfig authenticates the agent to the brokers.
type SASLConfig struct {
	Mechanism    string `mapstructure:"mechanism"`
	Username     string `mapstructure:"username"`
	Password     Secret `mapstructure:"password"`
	PasswordFile string `mapstructure:"password_file"`
}

// Config is the `type: kafka` output section.
type Config struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string `mapstructure:"brokers"`
	// Topic is the topic; %{path} is replaced with the event's member at the dotted path
	// (audit-%{objectRef.namespace}). An event without it, or whose value makes an
	// invalid topic name, goes to DefaultTopic.
	Topic        string `mapstructure:"topic"`
	DefaultTopic string `mapstructure:"default_topic"`
	ClientID     string `mapstructure:"client_id"`

	// TLSEnabled turns TLS on; setting any tls key turns it on too.
	TLSEnabled bool             `mapstructure:"tls_enabled"`
	TLS        tlsconfig.Client `mapstructure:"tls"`
	SASL       SASLConfig       `mapstructure:"sasl"`

	// Compression is the record batch codec: zstd, lz4, snappy, gzip or none.
	Compression string `mapstructure:"compression"`
	// MaxMessageBytes bounds a record batch (the broker's message.max.bytes); a record
	// larger than this is refused for good and dead-lettered.
	MaxMessageBytes config.ByteSize `mapstructure:"max_message_bytes"`
	// Linger is how long the producer waits to fill a record batch.
	Linger time.Duration `mapstructure:"linger"`
	// DeliveryTimeout bounds how long a record may wait for the brokers (leader
	// elections, a broker down) before its batch is failed and retried by the engine.
	DeliveryTimeout time.Duration `mapstructure:"delivery_timeout"`

	// Delivery is the batch, concurrency, retry and dead_letter_path keys (records the
	// brokers refuse for good; empty: DATA_DIR/dlq/NAME.ndjson).
	delivery.Delivery `mapstructure:",squash"`

	warnings []string
}

// Warnings implements config.Warner.
func (c *Config) Warnings() []string { return c.warnings }

// DefaultConfig returns the defaults every key falls back to. Concurrency 1 keeps each
// partition in the order events were read: a batch is retried before the next is sent.
func DefaultConfig() *Config {
	return &Config{
		Topic:           "k8s-audit",
		DefaultTopic:    "k8s-audit",
		ClientID:        "auditship",
		Compression:     "zstd",
		MaxMessageBytes: 1 << 20,
		Linger:          5 * time.Millisecond,
		DeliveryTimeout: 2 * time.Minute,
		Delivery: delivery.Config{
			BatchMaxEvents: 5000, BatchMaxBytes: 5 << 20, FlushInterval: time.Second,
			Concurrency: 1, RetryInitial: 100 * time.Millisecond, RetryMax: 30 * time.Second,
		},
	}
}

// topicName is what Kafka accepts as a topic name (at most 249 of these characters).
var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// Validate reports every problem at once, each naming its key.
func (c *Config) Validate() error {
	var f config.Findings
	add, warn := f.Add, f.Warn
	if len(c.Brokers) == 0 {
		add("brokers", "at least one host:port is required")
	}
	for i, b := range c.Brokers {
		if strings.Contains(b, "://") || !strings.Contains(b, ":") {
			add(fmt.Sprintf("brokers[%d]", i), "%q is not host:port", config.RedactURL(b))
		}
	}
	if t, err := evtemplate.Parse(c.Topic); err != nil {
		add("topic", "%v", err)
	} else if c.Topic == "" {
		add("topic", "is required")
	} else {
		for _, lit := range t.Literals() {
			if !topicName.MatchString(lit) {
				add("topic", "%q: a topic name has only letters, digits, '.', '_' and '-'", lit)
			}
		}
	}
	if !topicName.MatchString(c.DefaultTopic) {
		add("default_topic", "%q is not a valid topic name", c.DefaultTopic)
	}

	c.TLS.CheckInto("the Kafka brokers", add, warn)

	s := c.SASL
	switch s.Mechanism {
	case "":
		if s.Username != "" || s.Password != "" || s.PasswordFile != "" {
			add("sasl.mechanism", "is required with a username or password (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)")
		}
	case MechPlain, MechScramSHA256, MechScramSHA512:
		if s.Username == "" {
			add("sasl.username", "is required")
		}
		secretfile.CheckInlineOrFile("sasl.password", "sasl.password_file", string(s.Password), s.PasswordFile,
			"password_file (or password) is required", add, warn)
		if !c.tlsOn() {
			warn("sasl", "credentials are sent without TLS (%s over plaintext), readable on the network with the audit events; set tls_enabled", s.Mechanism)
		}
	default:
		add("sasl.mechanism", "unknown value %q (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)", s.Mechanism)
	}

	switch c.Compression {
	case "zstd", "lz4", "snappy", "gzip", "none":
	default:
		add("compression", "unknown value %q (zstd, lz4, snappy, gzip, none)", c.Compression)
	}
	if c.MaxMessageBytes <= 0 || c.MaxMessageBytes > 1<<30 {
		add("max_message_bytes", "must be between 1 and 1GiB")
	}
	if c.Linger < 0 {
		add("linger", "must not be negative")
	}
	if c.DeliveryTimeout <= 0 {
		add("delivery_timeout", "must be positive")
	}
	f.AddErrors(c.Delivery.Validate()...)
	f.WarnLines(c.DeadLetters.Warnings()...)
	c.warnings = f.Warnings()
	return f.Err()
}

func (c *Config) tlsOn() bool {
	return c.TLSEnabled || c.TLS != (tlsconfig.Client{})
}
