// Package delivery is the part of an output's config and behaviour that is about
// delivery, not the destination: the batch, concurrency, retry and dead-letter keys every
// network output takes (squashed into its config), the factory such an output needs, and
// the reading of a server's Retry-After.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/safefile"
	"github.com/auditship/auditship/pipeline"
)

// Delivery is Config under the name an output's config embeds it by:
//
//	delivery.Delivery `mapstructure:",squash"`
//
// so its keys sit beside the output's own in the file, and in Go both cfg.Delivery.X and
// cfg.X name them.
type Delivery = Config

// Config is the batch, concurrency, retry and dead-letter block of a network output.
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
	// DeadLetters is dead_letter_path; for these outputs empty means
	// DATA_DIR/dlq/NAME.ndjson (OptionsFor).
	DeadLetters `mapstructure:",squash"`
}

// DeliveryConfig returns c: an output config that embeds Delivery has it, which is how
// NewOutputFactory finds the block.
func (c *Config) DeliveryConfig() *Config { return c }

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

// Options is how the engine batches, parallelises and retries for c, and the dead-letter
// file as configured (none when dead_letter_path is empty; see OptionsFor).
func (c Config) Options() pipeline.OutputOptions {
	return pipeline.OutputOptions{
		Batch:          pipeline.BatchPolicy{MaxEvents: c.BatchMaxEvents, MaxBytes: int(c.BatchMaxBytes), FlushInterval: c.FlushInterval},
		Concurrency:    c.Concurrency,
		RetryInitial:   c.RetryInitial,
		RetryMax:       c.RetryMax,
		DeadLetterPath: config.ResolvePath(c.DeadLetterPath),
	}
}

// OptionsFor is Options for the output set describes, with the default dead-letter file
// DATA_DIR/dlq/NAME.ndjson when dead_letter_path is empty.
func (c Config) OptionsFor(set config.Settings) pipeline.OutputOptions {
	o := c.Options()
	o.DeadLetterPath = c.DeadLetters.PathFor(set, true)
	return o
}

// DeadLetters is the dead_letter_path key every output takes: the file the events it
// rejects for good are written to, as NDJSON (internal/deadletter), by the engine
// (pipeline.DeadLetters). Squash it into an output's config; Delivery has it already.
type DeadLetters struct {
	DeadLetterPath string `mapstructure:"dead_letter_path"`
}

// PathFor is the dead-letter file of the output set describes, absolute: the configured
// path, else with byDefault DATA_DIR/dlq/NAME.ndjson, else "" (no file: the engine counts,
// logs and drops what the output rejects for good).
func (d DeadLetters) PathFor(set config.Settings, byDefault bool) string {
	switch {
	case d.DeadLetterPath != "":
		return config.ResolvePath(d.DeadLetterPath)
	case byDefault:
		return config.ResolvePath(filepath.Join(set.DataDir, "dlq", set.Name+".ndjson"))
	}
	return ""
}

// Warnings reports a dead_letter_path whose directory every user may write (see
// safefile.ExposedDir), where anyone on the node can replace the dead letters.
func (d DeadLetters) Warnings() []string {
	if d.DeadLetterPath == "" {
		return nil
	}
	if w := safefile.ExposedDir(config.ResolvePath(d.DeadLetterPath)); w != "" {
		return []string{"dead_letter_path: " + w}
	}
	return nil
}

// NewOutputFactory returns the factory of outputs of type typ whose config (a P, made by
// newConfig with its defaults) embeds Delivery: create builds the output, and the engine
// drives it by the block (OptionsFor, so the default dead-letter file applies).
func NewOutputFactory[C any, P interface {
	*C
	DeliveryConfig() *Config
}, O pipeline.Output](typ string, newConfig func() P, create func(P, config.Settings) (O, error)) config.OutputFactory {
	return config.NewOutputFactory(typ, func() *C { return newConfig() },
		func(c *C, set config.Settings) (pipeline.Output, pipeline.OutputOptions, error) {
			out, err := create(c, set)
			if err != nil {
				return nil, pipeline.OutputOptions{}, err
			}
			return out, P(c).DeliveryConfig().OptionsFor(set), nil
		})
}

// NoRedirect is the CheckRedirect of an output's http.Client: a 3xx answer is returned
// as it is (a non-2xx status, retried) instead of followed. Followed, a 301/302/303
// turns the POST into a body-less GET whose 200 would acknowledge the batch undelivered,
// and a 307/308 re-sends the events and headers to any host the server names.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// MaxRetryAfter bounds the wait a Retry-After asks for: one answer (from the destination,
// a proxy, or whatever answers in its place) must not hold an output's events for hours.
// Five minutes is longer than Elasticsearch, Splunk HEC or a collector asks for when busy.
const MaxRetryAfter = 5 * time.Minute

// ParseRetryAfter reads an HTTP Retry-After header (RFC 9110 10.2.3): delay-seconds or
// an HTTP date, as a duration from now, at most MaxRetryAfter; 0 when absent,
// unparseable or past.
func ParseRetryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	h = strings.TrimSpace(h)
	if s, err := strconv.ParseUint(h, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if s == 0 && err == nil {
			return 0
		}
		if err != nil || s > uint64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return min(t.Sub(now), MaxRetryAfter)
	}
	return 0
}

// Split writes the two halves of b with write, one after the other, and merges what they
// report: nil when both were delivered, else a *pipeline.BatchError naming, by position
// in b, the events of either half that failed (for good or not). Outputs call it when the
// destination refuses a request as too large or as holding an event it will not take,
// until the event is alone (HTTP 413 and 400).
func Split(ctx context.Context, b pipeline.Batch, write func(context.Context, pipeline.Batch) error) error {
	mid := len(b) / 2
	failed := map[int]error{}
	for _, half := range []struct {
		off int
		b   pipeline.Batch
	}{{0, b[:mid]}, {mid, b[mid:]}} {
		err := write(ctx, half.b)
		var be *pipeline.BatchError
		switch {
		case err == nil:
		case errors.As(err, &be):
			for i, e := range be.Failed {
				failed[half.off+i] = e
			}
		default:
			for i := range half.b {
				failed[half.off+i] = err
			}
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &pipeline.BatchError{Failed: failed}
}
