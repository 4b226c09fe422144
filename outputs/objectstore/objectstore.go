// Package objectstore implements the object_store output: batches of events as compressed
// NDJSON objects in an S3 (or S3-compatible) bucket or a local directory, keyed by the
// events' own hour and the node that shipped them.
package objectstore

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// Type is the config `type:` of this output.
const Type = "object_store"

const contentType = "application/x-ndjson"

// NewFactory returns the object_store output factory.
func NewFactory() config.OutputFactory {
	return config.OutputFactory{
		Type:      Type,
		NewConfig: func() any { return NewConfig() },
		Create: func(cfg any, set config.Settings) (pipeline.Output, pipeline.OutputOptions, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, pipeline.OutputOptions{}, fmt.Errorf("object_store: unexpected config type %T", cfg)
			}
			out, err := newOutput(c, set)
			if err != nil {
				return nil, pipeline.OutputOptions{}, err
			}
			opts := out.Options()
			opts.DeadLetterPath = c.DeadLetters.PathFor(set, false)
			return out, opts, nil
		},
	}
}

type store interface {
	put(ctx context.Context, key string, body []byte, c codec) error
	ready(ctx context.Context) error
	String() string
}

// Output writes each batch it is handed as one object per hour of event time.
type Output struct {
	cfg     *Config
	name    string
	log     hclog.Logger
	store   store
	prefix  string
	node    string
	codec   codec
	writers *writerPool
	now     func() time.Time
}

func newOutput(c *Config, set config.Settings, awsOpts ...func(*awsconfig.LoadOptions) error) (*Output, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	loc, _ := parseURL(c.URL)
	o := &Output{
		cfg:     c,
		name:    set.Name,
		log:     set.Logger,
		prefix:  loc.prefix,
		node:    nodeName(c.NodeName, set.NodeName),
		codec:   codecs[c.Compression],
		writers: newWriterPool(codecs[c.Compression], uploads),
		now:     time.Now,
	}
	if o.log == nil {
		o.log = hclog.NewNullLogger()
	}
	switch loc.scheme {
	case schemeS3:
		s, err := newS3Store(context.Background(), c, loc, awsOpts...)
		if err != nil {
			return nil, err
		}
		o.store = s
	default:
		// A store directory that is something else fails every write; say so now, so
		// `validate` and a reload refuse it (the directory itself is made on first use).
		if fi, err := os.Stat(loc.dir); err == nil && !fi.IsDir() {
			return nil, fmt.Errorf("url: %s is not a directory", loc.dir)
		}
		o.store = &dirStore{dir: loc.dir}
	}
	return o, nil
}

// uploads is how many objects are encoded and uploaded at once: one uploads while the next
// fills, and a second upload in flight hides a slow round trip without holding many
// max_object_bytes of events.
const uploads = 2

// Options makes the engine close an object at max_object_bytes of input or max_object_age.
func (o *Output) Options() pipeline.OutputOptions {
	return pipeline.OutputOptions{
		Batch: pipeline.BatchPolicy{
			// Objects are bounded by size and age only.
			MaxEvents:     math.MaxInt32,
			MaxBytes:      int(o.cfg.MaxObjectBytes),
			FlushInterval: o.cfg.MaxObjectAge,
		},
		Concurrency:  uploads,
		RetryInitial: 500 * time.Millisecond,
		RetryMax:     time.Minute,
	}
}

// Write uploads the batch as one object per hour of event time and returns nil only when
// all of them are stored. When some are stored and a later one fails, a *BatchError
// names the events still to ship, so a retry does not upload the stored ones again. An
// event that cannot be encoded is left out of its object and reported, once the object
// holding the rest is stored, as rejected for good (pipeline.Reject): the engine
// dead-letters it.
func (o *Output) Write(ctx context.Context, b pipeline.Batch) error {
	groups := partition(b, o.now())
	failed := map[int]error{}
	var firstErr error
	for _, g := range groups {
		if firstErr == nil {
			var skipped map[int]error
			skipped, firstErr = o.writeGroup(ctx, b, g)
			for j, err := range skipped {
				failed[g.idx[j]] = pipeline.Reject(pipeline.Rejection{ErrorType: "encode", Reason: err.Error()})
			}
		}
		// After a failure the store is likely down: leave the rest to the retry.
		if firstErr != nil {
			for _, i := range g.idx {
				failed[i] = firstErr
			}
		}
	}
	switch {
	case len(failed) == 0:
		return nil
	case firstErr != nil && len(failed) == len(b):
		return firstErr
	default:
		return &pipeline.BatchError{Failed: failed}
	}
}

// writeGroup encodes and uploads the events of b at g's positions; skipped are those that
// could not be encoded, by index in g, reported only when the rest is stored (or there is
// no rest): a failed upload is retried whole and meets them again.
func (o *Output) writeGroup(ctx context.Context, b pipeline.Batch, g group) (skipped map[int]error, err error) {
	events := []*pipeline.Event(b)
	if len(g.idx) < len(b) {
		events = make([]*pipeline.Event, len(g.idx))
		for j, i := range g.idx {
			events[j] = b[i]
		}
	}
	enc, err := o.writers.get()
	if err != nil {
		return nil, err
	}
	obj, err := encodeObject(events, enc)
	if err != nil {
		o.writers.put(enc, true)
		return nil, err
	}
	if len(obj.skipped) == len(events) {
		o.writers.put(enc, true)
		return obj.skipped, nil
	}
	key := objectKey(o.prefix, o.node, g.first, obj.digest, o.codec.ext)
	ctx, cancel := context.WithTimeout(ctx, o.cfg.UploadTimeout)
	err = o.store.put(ctx, key, obj.body, o.codec)
	cancel()
	// The body is the encoder's buffer. After a failed upload the HTTP transport may still
	// be reading it (net/http closes a request body in its own time), so it is not reused.
	o.writers.put(enc, err == nil)
	if err != nil {
		return nil, err
	}
	if o.log.IsDebug() {
		o.log.Debug("object stored", "output", o.name, "key", key, "events", len(events), "bytes", len(obj.body))
	}
	return obj.skipped, nil
}

// Ready reports whether the bucket (or directory) is reachable and usable.
func (o *Output) Ready(ctx context.Context) error {
	if err := o.store.ready(ctx); err != nil {
		return fmt.Errorf("%s: %w", o.store, err)
	}
	return nil
}

// Close has nothing to flush: the engine hands over every batch before closing.
func (o *Output) Close(context.Context) error { return nil }

var (
	_ pipeline.Output       = (*Output)(nil)
	_ pipeline.ReadyChecker = (*Output)(nil)
)
