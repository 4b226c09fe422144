package objectstore

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/delivery"
)

// Config is the `type: object_store` section.
type Config struct {
	// URL is s3://BUCKET/PREFIX/ or file:///DIR/.
	URL string `mapstructure:"url"`
	// Endpoint points the S3 client at an S3-compatible store (MinIO, Ceph, R2, GCS).
	Endpoint       string `mapstructure:"endpoint"`
	Region         string `mapstructure:"region"`
	ForcePathStyle bool   `mapstructure:"force_path_style"`
	// Compression is gzip, zstd or none.
	Compression string `mapstructure:"compression"`
	// MaxObjectBytes and MaxObjectAge close an object: at this much input, or this long
	// after its first event arrived.
	MaxObjectBytes config.ByteSize `mapstructure:"max_object_bytes"`
	MaxObjectAge   time.Duration   `mapstructure:"max_object_age"`
	// NodeName names this agent in object keys; empty means the agent's node name.
	NodeName string `mapstructure:"node_name"`
	// ServerSideEncryption is AES256 or aws:kms (with SSEKMSKeyID); empty leaves it to the
	// bucket's default.
	ServerSideEncryption string `mapstructure:"server_side_encryption"`
	SSEKMSKeyID          string `mapstructure:"sse_kms_key_id"`
	// PartSize is the multipart chunk; objects larger than one part upload in parts.
	PartSize config.ByteSize `mapstructure:"part_size"`
	// UploadTimeout bounds one object's upload; a hung connection then fails and is retried.
	UploadTimeout time.Duration `mapstructure:"upload_timeout"`
	// DeadLetters is dead_letter_path: where events that cannot be encoded go; empty:
	// they are counted, logged and dropped.
	delivery.DeadLetters `mapstructure:",squash"`

	// warnings are what the last Validate found unsafe but allowed (config.Warner).
	warnings []string
}

// Warnings implements config.Warner: an http:// endpoint off this machine, over which
// the objects (the audit events) travel unencrypted.
func (c *Config) Warnings() []string { return c.warnings }

// Limits S3 puts on multipart uploads, and what we are willing to hold in memory per object.
const (
	minPartSize       = 5 << 20
	maxPartSize       = 5 << 30
	maxObjectBytesCap = 4 << 30
)

// NewConfig returns the defaults. max_object_bytes is 8MiB because the engine holds up to
// three objects' events (one filling, two uploading) and the garbage collector lets the
// heap grow to about twice what is live: with unfiltered events 16MiB peaked at 170-180 MB
// RSS, 8MiB at 110-115 MB. Vector's S3 sink batches 10MB; Fluent Bit's larger files are
// buffered on disk, not in memory.
func NewConfig() *Config {
	return &Config{
		Compression:    "gzip",
		MaxObjectBytes: 8 << 20,
		MaxObjectAge:   5 * time.Minute,
		PartSize:       8 << 20,
		UploadTimeout:  10 * time.Minute,
	}
}

var nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Validate reports every problem, one per key.
func (c *Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	c.warnings = c.DeadLetters.Warnings()
	loc, err := parseURL(c.URL)
	if err != nil {
		add("url", "%v", err)
	}
	if loc.scheme == schemeFile {
		for key, set := range map[string]bool{
			"endpoint":               c.Endpoint != "",
			"region":                 c.Region != "",
			"force_path_style":       c.ForcePathStyle,
			"server_side_encryption": c.ServerSideEncryption != "",
			"sse_kms_key_id":         c.SSEKMSKeyID != "",
		} {
			if set {
				add(key, "only applies to s3:// urls")
			}
		}
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			add("endpoint", "%q is not an http(s) URL such as http://127.0.0.1:9000", config.RedactURL(c.Endpoint))
		case u.User != nil:
			// Credentials in the URL would end up in logs with the endpoint.
			add("endpoint", "must not carry credentials; use the AWS credential chain (AWS_ACCESS_KEY_ID, a web identity, ...)")
		case config.Cleartext(c.Endpoint):
			c.warnings = append(c.warnings, fmt.Sprintf("endpoint: %s is http://: the audit events travel unencrypted and the signed requests can be read on the network; use https://", c.Endpoint))
		}
	}
	if _, ok := codecs[c.Compression]; !ok {
		add("compression", "unknown %q (gzip, zstd, none)", c.Compression)
	}
	if c.MaxObjectBytes <= 0 || c.MaxObjectBytes > maxObjectBytesCap {
		add("max_object_bytes", "%s is out of range (1 to %s; objects are built in memory)", c.MaxObjectBytes, config.ByteSize(maxObjectBytesCap))
	}
	if c.MaxObjectAge < time.Second {
		add("max_object_age", "%s is too short (at least 1s)", c.MaxObjectAge)
	}
	if c.NodeName != "" && !nodeNameRE.MatchString(c.NodeName) {
		add("node_name", "%q may only use letters, digits, '.', '_' and '-' (it is part of object keys)", c.NodeName)
	}
	switch c.ServerSideEncryption {
	case "", sseAES256:
		if c.SSEKMSKeyID != "" {
			add("sse_kms_key_id", "requires server_side_encryption: aws:kms")
		}
	case sseKMS:
	default:
		add("server_side_encryption", "unknown %q (AES256, aws:kms)", c.ServerSideEncryption)
	}
	if c.PartSize < minPartSize || c.PartSize > maxPartSize {
		add("part_size", "%s is out of range (5MiB to 5GiB, S3's multipart limits)", c.PartSize)
	}
	if c.UploadTimeout < time.Second {
		add("upload_timeout", "%s is too short (at least 1s)", c.UploadTimeout)
	}
	return errors.Join(errs...)
}

const (
	schemeS3   = "s3"
	schemeFile = "file"
	sseAES256  = "AES256"
	sseKMS     = "aws:kms"
)

// location is a parsed url: a bucket and key prefix, or a local directory.
type location struct {
	scheme string
	bucket string
	// prefix ends with "/" unless empty.
	prefix string
	dir    string
}

func parseURL(raw string) (location, error) {
	if raw == "" {
		return location{}, errors.New("required (s3://BUCKET/PREFIX/ or file:///DIR/)")
	}
	quoted := config.RedactURL(raw)
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the URL whole: keep only its reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return location{}, fmt.Errorf("%q does not parse: %w", quoted, err)
	}
	if u.User != nil {
		return location{}, fmt.Errorf("%q must not carry credentials; use the AWS credential chain", quoted)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return location{}, fmt.Errorf("%q: query and fragment are not supported", quoted)
	}
	switch u.Scheme {
	case schemeS3:
		if u.Host == "" {
			return location{}, fmt.Errorf("%q names no bucket (s3://BUCKET/PREFIX/)", quoted)
		}
		prefix := strings.TrimPrefix(u.Path, "/")
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		if strings.Contains(prefix, "//") {
			return location{}, fmt.Errorf("%q: prefix has an empty path segment", quoted)
		}
		return location{scheme: schemeS3, bucket: u.Host, prefix: prefix}, nil
	case schemeFile:
		// file:///abs/dir is the norm; file://rel/dir is taken relative to the working dir,
		// as every other path in the config is.
		dir := u.Host + u.Path
		if u.Host == "localhost" {
			dir = u.Path
		}
		if dir == "" {
			return location{}, fmt.Errorf("%q names no directory (file:///DIR/)", quoted)
		}
		return location{scheme: schemeFile, dir: config.ResolvePath(dir)}, nil
	default:
		return location{}, fmt.Errorf("%q: unsupported scheme (s3://BUCKET/PREFIX/ or file:///DIR/)", quoted)
	}
}
