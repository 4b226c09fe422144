// Package httpout is the `type: http` output: each batch POSTed to a URL as NDJSON (one
// audit event per line, its own bytes), gzipped by default, as Vector's `http` sink and
// Fluent Bit's `http` output do with `json_lines`. A 2xx delivers the batch. 429, 408 and
// 5xx are retried by the engine with backoff, after at least the server's Retry-After;
// a connection that fails is retried too. 400, 413 and 422 say the request held an event
// the server will not take: the batch is halved until that event is alone, and it is
// rejected for good (the engine writes it to the output's dead-letter file) while the
// rest is delivered. Any other status (401, 403, 404: a credential or URL to fix; a 3xx
// redirect, which is never followed) holds every event back and is retried, never
// dead-lettered.
package httpout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/delivery"
	"github.com/auditship/auditship/internal/secretfile"
	"github.com/auditship/auditship/internal/tlsconfig"
	"github.com/auditship/auditship/pipeline"
)

// TypeName is the output's `type` in the config.
const TypeName = "http"

// NewFactory returns the factory for `type: http` outputs.
func NewFactory() config.OutputFactory {
	return delivery.NewOutputFactory(TypeName, DefaultConfig, New)
}

// Config is the `type: http` output section.
type Config struct {
	// URL receives the POSTs: http:// or https://, without credentials.
	URL string `mapstructure:"url"`
	// Headers are added to every request (not for credentials: use bearer_token_file).
	Headers map[string]string `mapstructure:"headers"`
	// BearerToken, or BearerTokenFile a file holding it (or the environment:
	// AUDITSHIP_OUTPUTS_<NAME>_BEARER_TOKEN), is sent as Authorization: Bearer.
	BearerToken     config.Secret    `mapstructure:"bearer_token"`
	BearerTokenFile string           `mapstructure:"bearer_token_file"`
	TLS             tlsconfig.Client `mapstructure:"tls"`
	// Compression is gzip or none.
	Compression    string        `mapstructure:"compression"`
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	// Delivery is the batch, concurrency, retry and dead_letter_path keys (events the
	// server refuses for good; empty: DATA_DIR/dlq/NAME.ndjson).
	delivery.Delivery `mapstructure:",squash"`

	warnings []string
}

// DefaultConfig returns the defaults every key falls back to.
func DefaultConfig() *Config {
	return &Config{
		Compression:    "gzip",
		RequestTimeout: 30 * time.Second,
		Delivery: delivery.Config{
			BatchMaxEvents: 1000, BatchMaxBytes: 1 << 20, FlushInterval: time.Second,
			Concurrency: 2, RetryInitial: 100 * time.Millisecond, RetryMax: 30 * time.Second,
		},
	}
}

// Warnings implements config.Warner.
func (c *Config) Warnings() []string { return c.warnings }

// Validate reports every problem at once, each naming its key.
func (c *Config) Validate() error {
	var f config.Findings
	add, warn := f.Add, f.Warn
	f.WarnLines(c.DeadLetters.Warnings()...)
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		add("url", "is required (e.g. https://collector.example/ingest)")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		add("url", "%q is not an http:// or https:// URL", config.RedactURL(c.URL))
	case u.User != nil:
		add("url", "must not carry credentials; use bearer_token_file")
	case config.Cleartext(c.URL):
		warn("url", "the audit events are sent over http:// to %s, readable on the network; use https://", config.RedactURL(c.URL))
	}
	secretfile.CheckInlineOrFile("bearer_token", "bearer_token_file", string(c.BearerToken), c.BearerTokenFile, "", add, warn)
	for name, value := range c.Headers {
		switch {
		case name == "" || strings.ContainsAny(name, " :\r\n"):
			add("headers", "%q is not a header name", name)
		case textproto.CanonicalMIMEHeaderKey(name) == "Authorization":
			add("headers", "Authorization: use bearer_token_file, which is never logged")
		case slices.Contains([]string{"Host", "Content-Length", "Content-Encoding", "Transfer-Encoding"}, textproto.CanonicalMIMEHeaderKey(name)):
			// net/http ignores Host and the length; an encoding that is not the body's
			// makes the server refuse every request (400: every event dead-lettered).
			add("headers", "%s is set by the output (from url and compression)", textproto.CanonicalMIMEHeaderKey(name))
		case strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }):
			// net/http refuses to send it (RFC 9110 5.5): every write would fail, forever.
			add("headers", "the value of %q holds a control character (a line break?)", name)
		}
	}
	c.TLS.CheckInto("the HTTP server", add, warn)
	if c.Compression != "gzip" && c.Compression != "none" {
		add("compression", "unknown value %q (gzip, none)", c.Compression)
	}
	if c.RequestTimeout <= 0 {
		add("request_timeout", "must be positive")
	}
	f.AddErrors(c.Delivery.Validate()...)
	c.warnings = f.Warnings()
	return f.Err()
}

// Output posts batches to one URL. Write is safe for concurrent use.
type Output struct {
	url     string
	header  http.Header
	gzip    bool
	timeout time.Duration
	client  *http.Client
}

// New returns an output for cfg, which must have passed Validate. It does no network
// I/O: an unreachable server shows in retried writes.
func New(cfg *Config, set config.Settings) (*Output, error) {
	token, err := secretfile.InlineOrFile("bearer_token_file", string(cfg.BearerToken), cfg.BearerTokenFile)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := cfg.TLS.Config()
	if err != nil {
		return nil, err
	}
	if cfg.TLS.InsecureSkipVerify && set.Logger != nil {
		set.Logger.Warn("tls.insecure_skip_verify is set: the server's certificate is not verified, so the audit events can be intercepted")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.MaxIdleConnsPerHost = cfg.Delivery.Concurrency + 2
	h := http.Header{"Content-Type": {"application/x-ndjson"}}
	for k, v := range cfg.Headers {
		h.Set(k, v)
	}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if cfg.Compression == "gzip" {
		h.Set("Content-Encoding", "gzip")
	}
	return &Output{url: cfg.URL, header: h, gzip: cfg.Compression == "gzip", timeout: cfg.RequestTimeout,
		client: &http.Client{Transport: tr, CheckRedirect: delivery.NoRedirect}}, nil
}

// statusError is a non-2xx answer; the engine waits at least after before retrying.
type statusError struct {
	status int
	after  time.Duration
	body   string // the server's explanation: may quote events, so never in Error()
}

func (e *statusError) Error() string {
	return fmt.Sprintf("http output: the server answered %d %s", e.status, http.StatusText(e.status))
}

// RetryAfter implements pipeline.RetryAfter.
func (e *statusError) RetryAfter() time.Duration { return e.after }

// refusesContent reports whether status says the request held something the server will
// never take (as opposed to a server that is busy, down or misconfigured).
func refusesContent(status int) bool {
	return status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge ||
		status == http.StatusUnprocessableEntity
}

// Write posts b. It returns nil when the server took every event; a *pipeline.BatchError
// when it refused some for good (pipeline.Reject) and took the rest, or when a split
// batch was taken in part; another error when none was taken.
func (o *Output) Write(ctx context.Context, b pipeline.Batch) error {
	if len(b) == 0 {
		return nil
	}
	body, rejected := encode(b)
	err := o.post(ctx, body)
	var se *statusError
	if errors.As(err, &se) && refusesContent(se.status) && len(b)-len(rejected) > 0 {
		return o.split(ctx, b, se)
	}
	if err != nil && len(rejected) == 0 {
		return err
	}
	failed := rejected
	if err != nil {
		for i := range b {
			if _, ok := failed[i]; !ok {
				failed[i] = err
			}
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &pipeline.BatchError{Failed: failed}
}

// split halves b until the event the server refuses is alone: that one is rejected for
// good with the server's answer, the others are posted on their own.
func (o *Output) split(ctx context.Context, b pipeline.Batch, se *statusError) error {
	if len(b) == 1 {
		return pipeline.Reject(pipeline.Rejection{Status: se.status, ErrorType: strings.ReplaceAll(strings.ToLower(http.StatusText(se.status)), " ", "_"),
			Reason: "the server refused the event: " + se.body})
	}
	return delivery.Split(ctx, b, o.Write)
}

// encode returns b as NDJSON, leaving out (and rejecting) what cannot be encoded.
func encode(b pipeline.Batch) ([]byte, map[int]error) {
	var body []byte
	rejected := map[int]error{}
	for i, ev := range b {
		n := len(body)
		next, err := ev.AppendJSON(body)
		if err != nil {
			body = body[:n]
			rejected[i] = pipeline.Reject(pipeline.Rejection{ErrorType: "encode", Reason: err.Error()})
			continue
		}
		body = append(next, '\n')
	}
	return body, rejected
}

// post sends one request body; nil on 2xx.
func (o *Output) post(ctx context.Context, body []byte) error {
	if len(body) == 0 {
		return nil
	}
	if o.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body) // a bytes.Buffer does not fail
		_ = zw.Close()
		body = buf.Bytes()
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("http output: %w", err)
	}
	req.Header = o.header.Clone()
	resp, err := o.client.Do(req)
	if err != nil {
		// net/http's error names the URL, which carries no userinfo (Validate); its query
		// may hold a collector's token (?api_key=...), and the error is logged on every
		// retry, so it goes.
		var ue *url.Error
		if errors.As(err, &ue) {
			if u, perr := url.Parse(ue.URL); perr == nil && u.RawQuery != "" {
				u.RawQuery = "REDACTED"
				ue.URL = u.String()
			}
		}
		return fmt.Errorf("http output: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return &statusError{status: resp.StatusCode, body: string(answer),
		after: delivery.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
}

// Close releases idle connections.
func (o *Output) Close(context.Context) error {
	o.client.CloseIdleConnections()
	return nil
}

var _ pipeline.Output = (*Output)(nil)
