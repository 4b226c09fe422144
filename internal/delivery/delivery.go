// Package delivery is the part of an output's config and behaviour that is about
// delivery, not the destination: the batch, concurrency and retry keys every network
// output takes (squashed into its config), and the reading of a server's Retry-After.
package delivery

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// Config is the batch/retry block. Squash it into an output's config
// (`mapstructure:",squash"`), so its keys sit beside the output's own.
type Config struct {
	// BatchMaxEvents and BatchMaxBytes bound one write; FlushInterval is the longest an
	// event waits for its batch to fill.
	BatchMaxEvents int             `mapstructure:"batch_max_events"`
	BatchMaxBytes  config.ByteSize `mapstructure:"batch_max_bytes"`
	FlushInterval  time.Duration   `mapstructure:"flush_interval"`
	// Concurrency is how many writes may be in flight at once.
	Concurrency int `mapstructure:"concurrency"`
	// RetryInitial and RetryMax bound the exponential backoff between attempts.
	RetryInitial time.Duration `mapstructure:"retry_initial_backoff"`
	RetryMax     time.Duration `mapstructure:"retry_max_backoff"`
}

// Validate returns one error per bad key, each naming it.
func (c Config) Validate() []error {
	var errs []error
	for _, n := range []struct {
		key string
		ok  bool
	}{
		{"batch_max_events", c.BatchMaxEvents > 0},
		{"batch_max_bytes", c.BatchMaxBytes > 0},
		{"flush_interval", c.FlushInterval > 0},
		{"concurrency", c.Concurrency > 0},
		{"retry_initial_backoff", c.RetryInitial > 0},
	} {
		if !n.ok {
			errs = append(errs, fmt.Errorf("%s: must be positive", n.key))
		}
	}
	if c.RetryMax < c.RetryInitial {
		errs = append(errs, fmt.Errorf("retry_max_backoff: must be at least retry_initial_backoff (%s)", c.RetryInitial))
	}
	return errs
}

// Options is how the engine batches, parallelises and retries for c.
func (c Config) Options() pipeline.OutputOptions {
	return pipeline.OutputOptions{
		Batch:        pipeline.BatchPolicy{MaxEvents: c.BatchMaxEvents, MaxBytes: int(c.BatchMaxBytes), FlushInterval: c.FlushInterval},
		Concurrency:  c.Concurrency,
		RetryInitial: c.RetryInitial,
		RetryMax:     c.RetryMax,
	}
}

// ParseRetryAfter reads an HTTP Retry-After header (RFC 9110 10.2.3): delay-seconds or
// an HTTP date, as a duration from now; 0 when absent, unparseable or past.
func ParseRetryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
