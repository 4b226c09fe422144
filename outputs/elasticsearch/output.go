// Package elasticsearch is the `type: elasticsearch` output, for Elasticsearch 7.10 to 9
// and OpenSearch 1 to 3 (with AWS SigV4 signing for Amazon OpenSearch Service and
// Serverless): it ships batches with the Bulk API, each event a `create` with an _id
// that is the digest of the document, so that a replay after a crash conflicts (409,
// delivered once the stored document is checked to be the one sent) instead of
// duplicating, and two different events never share one. Items the cluster rejects for good go to a dead-letter file; items it is
// too busy for are handed back to the engine, which retries only those.
package elasticsearch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/hashicorp/go-hclog"
	"github.com/valyala/fastjson"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/delivery"
	"github.com/auditship/auditship/pipeline"
)

// Output writes batches to Elasticsearch. Write is safe for concurrent use.
type Output struct {
	name   string
	log    hclog.Logger
	client *elasticsearch.Client
	// transport performs every request. It is the client's own transport (addresses,
	// authentication, TLS), used without the client's check that answers carry
	// X-Elastic-Product: OpenSearch sends none, and the client would refuse its answer
	// to a bulk request it had already executed. detect finds out what the node is.
	transport esapi.Transport
	detect    *detector
	enc       *encoder
	gzip      bool
	timeout   time.Duration
	parsers   fastjson.ParserPool
	// bodies and zbodies keep request bodies (NDJSON, and gzipped) between batches: a
	// free list of one per concurrent Write, which a collection does not empty as it
	// would a sync.Pool. A body goes back only after an answer with a result for every
	// item (the node read all of it): after a failed request, or an answer that came
	// before the body was all sent, net/http may still be reading it.
	bodies   chan *[]byte
	zbodies  chan *bytes.Buffer
	buffers  sync.Pool // *bytes.Buffer: responses, read before bulk returns
	template *templateSetup
}

// New returns an output for cfg, which must have passed Validate. It does no network
// I/O: an unreachable cluster shows in Ready and in retried writes, not here.
func New(cfg *Config, set config.Settings) (*Output, error) {
	log := set.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}

	pattern, err := parseIndexPattern(cfg.Index)
	if cfg.DataStream != "" {
		pattern, err = parseIndexPattern(cfg.DataStream)
	}
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}

	esCfg, err := clientConfig(cfg, log)
	if err != nil {
		return nil, err
	}
	client, err := elasticsearch.NewClient(esCfg)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch client: %w", err)
	}

	o := &Output{
		name:      set.Name,
		log:       log,
		client:    client,
		transport: client.Transport,
		detect:    &detector{compat: cfg.Compatibility, service: cfg.AWSSigV4.Service},
		enc:       &encoder{pattern: pattern, dataStream: cfg.DataStream, now: time.Now},
		gzip:      cfg.Compression == "gzip",
		timeout:   cfg.RequestTimeout,
		bodies:    make(chan *[]byte, cfg.Concurrency),
		zbodies:   make(chan *bytes.Buffer, cfg.Concurrency),
	}
	if cfg.SetupTemplate {
		o.template = &templateSetup{name: cfg.TemplateName, pattern: pattern.wildcard(),
			dataStream: cfg.DataStream != "", bodies: cfg.TemplateBodies}
	}
	return o, nil
}

func clientConfig(cfg *Config, log hclog.Logger) (elasticsearch.Config, error) {
	var secrets [3]string
	for i, s := range []struct {
		key    string
		inline Secret
		file   string
	}{{"password", cfg.Password, cfg.PasswordFile}, {"api_key", cfg.APIKey, cfg.APIKeyFile}, {"bearer_token", cfg.BearerToken, cfg.BearerTokenFile}} {
		v, err := readSecret(s.key, s.inline, s.file)
		if err != nil {
			return elasticsearch.Config{}, err
		}
		secrets[i] = v
	}
	password, apiKey, bearer := secrets[0], secrets[1], secrets[2]

	tlsCfg, err := cfg.TLS.Config()
	if err != nil {
		return elasticsearch.Config{}, err
	}
	if cfg.TLS.InsecureSkipVerify {
		log.Warn("tls.insecure_skip_verify is set: the Elasticsearch certificate is not verified, so credentials and audit events can be intercepted")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.MaxIdleConnsPerHost = cfg.Concurrency + 2
	var rt http.RoundTripper = tr
	if cfg.AWSSigV4.enabled() {
		if rt, err = newSigV4Transport(tr, cfg.AWSSigV4); err != nil {
			return elasticsearch.Config{}, err
		}
	}

	return elasticsearch.Config{
		Addresses:    cfg.Addresses,
		CloudID:      cfg.CloudID,
		Username:     cfg.Username,
		Password:     password,
		APIKey:       apiKey,
		ServiceToken: bearer,
		Transport:    rt,
		// The engine retries, with backoff and only the failed items; the client must
		// not retry whole bulks behind its back.
		DisableRetry: true,
	}, nil
}

// requestError is a whole-request failure: retried by the engine, after at least the
// server's Retry-After when it sent one.
type requestError struct {
	status int
	kind   string
	after  time.Duration
}

func (e *requestError) Error() string {
	if e.kind != "" {
		return fmt.Sprintf("elasticsearch answered %d (%s)", e.status, e.kind)
	}
	return fmt.Sprintf("elasticsearch answered %d", e.status)
}

// RetryAfter implements pipeline.RetryAfter.
func (e *requestError) RetryAfter() time.Duration { return e.after }

// itemResult is one bulk response item.
type itemResult struct {
	status  int
	errType string
	reason  string
	// errIndex is the index a 409 names: for a data stream, the backing index that
	// holds the existing document.
	errIndex string
}

// Write ships b with one bulk request. It returns nil when every event was indexed or
// already present (409 on create); a *pipeline.BatchError naming the events to retry
// (per-item 429 and 5xx, or items the response did not answer for) and, as
// pipeline.Reject, those rejected for good (other 4xx, an event that cannot be encoded,
// a 409 whose stored document differs), which the engine dead-letters; any other error
// when the request as a whole failed and the batch must be retried.
func (o *Output) Write(ctx context.Context, b pipeline.Batch) error {
	if len(b) == 0 {
		return nil
	}
	c, err := o.cluster(ctx)
	if err != nil {
		return err
	}
	if err := o.ensureTemplate(ctx, c); err != nil {
		return err
	}

	bp := o.getBody()
	body, items, bad := o.enc.encode((*bp)[:0], b)
	*bp = body
	sent := false
	defer func() {
		if sent {
			putFree(o.bodies, bp, cap(*bp))
		}
	}()

	failed := map[int]error{}
	for _, x := range bad {
		failed[x.pos] = pipeline.Reject(pipeline.Rejection{ErrorType: "encode_error", Reason: x.reason, Event: b[x.pos].Raw()})
	}
	if len(items) > 0 {
		results, err := o.bulk(ctx, body, len(items))
		// A result for every item means the node read the whole body, so net/http has
		// written all of it: only then may the next batch overwrite it.
		sent = err == nil && len(results) == len(items)
		var re *requestError
		switch {
		case errors.As(err, &re) && re.status == http.StatusRequestEntityTooLarge:
			return o.split(ctx, b)
		case err != nil && len(failed) == 0:
			return err
		case err != nil:
			for _, it := range items {
				failed[it.pos] = err
			}
		default:
			o.itemResults(ctx, b, body, items, results, failed)
		}
	}
	if len(failed) > 0 {
		return &pipeline.BatchError{Failed: failed}
	}
	return nil
}

// itemResults records in failed, by batch position, the items of a bulk answer that were
// not delivered: 429 and 5xx to retry, other 4xx rejected for good, and the 409s whose
// stored document is not the one sent.
func (o *Output) itemResults(ctx context.Context, b pipeline.Batch, body []byte, items []bulkItem, results []itemResult, failed map[int]error) {
	var doc []byte
	var conflicts []int
	for k, it := range items {
		if k >= len(results) {
			failed[it.pos] = errors.New("elasticsearch returned no result for this item")
			continue
		}
		r := results[k]
		switch {
		case r.status == http.StatusOK || r.status == http.StatusCreated:
		case r.status == http.StatusConflict:
			// create of an _id that exists: an earlier attempt got it there, if the
			// stored document is what was sent (checked below).
			conflicts = append(conflicts, k)
		case r.status == http.StatusTooManyRequests || r.status >= 500 || r.status < 400:
			failed[it.pos] = fmt.Errorf("item %d (%s)", r.status, r.errType)
		default:
			doc, _ = b[it.pos].AppendJSON(doc[:0])
			failed[it.pos] = pipeline.Reject(pipeline.Rejection{Index: it.index, ID: it.id.String(),
				Status: r.status, ErrorType: r.errType, Reason: r.reason, Event: append([]byte(nil), doc...)})
		}
	}
	if len(conflicts) == 0 {
		return
	}
	differ, retry := o.checkConflicts(ctx, body, items, results, conflicts)
	for k, err := range retry {
		failed[items[k].pos] = err
	}
	for _, k := range differ {
		it := items[k]
		failed[it.pos] = pipeline.Reject(pipeline.Rejection{Index: it.index, ID: it.id.String(),
			Status: http.StatusConflict, ErrorType: conflictDifferent,
			Reason: "a document with this _id (the SHA-256 of this event as sent) exists, but its stored source differs: " +
				"it was changed after indexing, or written by something other than auditship",
			Event: append([]byte(nil), body[it.src[0]:it.src[1]]...)})
	}
}

// split handles 413 (a proxy or http.max_content_length smaller than the batch): each
// half is sent on its own; a single event too large for any request is rejected for good.
func (o *Output) split(ctx context.Context, b pipeline.Batch) error {
	if len(b) == 1 {
		doc, _ := b[0].AppendJSON(nil)
		return pipeline.Reject(pipeline.Rejection{Status: http.StatusRequestEntityTooLarge,
			ErrorType: "request_entity_too_large", Reason: "the event alone exceeds the request size Elasticsearch accepts", Event: doc})
	}
	return delivery.Split(ctx, b, o.Write)
}

func (o *Output) getBody() *[]byte {
	select {
	case b := <-o.bodies:
		return b
	default:
		return new([]byte)
	}
}

// maxKeptBody bounds the bodies kept for reuse: one giant batch does not pin its memory.
const maxKeptBody = 16 << 20

// putFree returns b to the free list unless it is full or b is too large to keep.
func putFree[T any](free chan T, b T, size int) {
	if size > maxKeptBody {
		return
	}
	select {
	case free <- b:
	default:
	}
}

func (o *Output) getBuffer() *bytes.Buffer {
	if b, ok := o.buffers.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

// Ready implements pipeline.ReadyChecker: the node answers, and is a distribution and
// version the output supports (GET /, which the first write needs anyway).
func (o *Output) Ready(ctx context.Context) error {
	if _, err := o.cluster(ctx); err != nil {
		return fmt.Errorf("elasticsearch output not ready: %w", err)
	}
	if o.detect.service == "aoss" {
		return nil // no GET / on OpenSearch Serverless; the first write tells
	}
	res, err := esapi.InfoRequest{}.Do(ctx, o.transport)
	if err != nil {
		return fmt.Errorf("elasticsearch unreachable: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	// 401/403 is a writer without the monitor privilege: the node is up.
	if res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests {
		return fmt.Errorf("elasticsearch not ready: %w", &requestError{status: res.StatusCode, kind: errorType(body)})
	}
	return nil
}

// Close releases the client's connections.
func (o *Output) Close(ctx context.Context) error {
	if err := o.client.Close(ctx); err != nil && !errors.Is(err, elasticsearch.ErrAlreadyClosed) {
		return fmt.Errorf("close elasticsearch client: %w", err)
	}
	return nil
}
