package elasticsearch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/valyala/fastjson"

	"github.com/auditship/auditship/internal/delivery"
)

// bulk sends one bulk body of items actions and returns the per-item results in request
// order.
func (o *Output) bulk(ctx context.Context, body []byte, items int) (results []itemResult, err error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	header := http.Header{"Content-Type": {"application/x-ndjson"}}
	var reader io.Reader = bytes.NewReader(body)
	if o.gzip {
		var zbuf *bytes.Buffer
		select {
		case zbuf = <-o.zbodies:
			zbuf.Reset()
		default:
			zbuf = new(bytes.Buffer)
		}
		defer func() {
			if err == nil && len(results) == items { // all read: net/http is done with it
				putFree(o.zbodies, zbuf, zbuf.Cap())
			}
		}()
		if err := o.enc.gzipBody(zbuf, body); err != nil {
			return nil, err
		}
		reader = bytes.NewReader(zbuf.Bytes())
		header.Set("Content-Encoding", "gzip")
	}
	res, err := esapi.BulkRequest{
		Body:   reader,
		Header: header,
		// Only what the output reads: a full response is several times larger.
		FilterPath: []string{"errors", "items.*.status", "items.*.error.type", "items.*.error.reason", "items.*.error.index"},
	}.Do(ctx, o.transport)
	if err != nil {
		return nil, fmt.Errorf("bulk request: %w", err)
	}
	defer res.Body.Close()
	rbuf := o.getBuffer()
	defer o.buffers.Put(rbuf)
	rbuf.Reset()
	if _, err := rbuf.ReadFrom(res.Body); err != nil {
		return nil, fmt.Errorf("read bulk response: %w", err)
	}
	respBody := rbuf.Bytes()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, &requestError{
			status: res.StatusCode,
			kind:   errorType(respBody),
			after:  retryAfter(res.Header.Get("Retry-After"), time.Now()),
		}
	}
	p := o.parsers.Get()
	defer o.parsers.Put(p)
	return parseBulkResponse(p, respBody)
}

// parseBulkResponse reads {"errors":..,"items":[{"create":{"status":..,"error":{..}}},..]}.
func parseBulkResponse(p *fastjson.Parser, body []byte) ([]itemResult, error) {
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("decode bulk response: %w", err)
	}
	arr := v.GetArray("items")
	out := make([]itemResult, len(arr))
	for i, item := range arr {
		// Each item is {"<action>": {...}} with one key. Object methods rather than the
		// variadic Value getters: those allocate per call, per item.
		obj, err := item.Object()
		if err != nil {
			return nil, fmt.Errorf("decode bulk response item %d: %w", i, err)
		}
		// The output only sends create; any other key is read too, for robustness.
		rv := obj.Get("create")
		if rv == nil {
			rv = firstMember(obj)
		}
		var r *fastjson.Object
		if rv != nil {
			r, _ = rv.Object()
		}
		if r == nil {
			continue // no status: counted as failed, and retried
		}
		if st := r.Get("status"); st != nil {
			out[i].status, _ = st.Int()
		}
		e := r.Get("error")
		switch {
		case e == nil:
		case out[i].status == http.StatusConflict:
			// Its reason is not needed: only where the stored document is.
			out[i].errIndex = string(e.GetStringBytes("index"))
		default:
			out[i].errType = string(e.GetStringBytes("type"))
			out[i].reason = string(e.GetStringBytes("reason"))
		}
	}
	return out, nil
}

// firstMember returns an object's first value (its closure would make every caller's
// variable escape, so it lives apart from the hot loop).
func firstMember(o *fastjson.Object) *fastjson.Value {
	var found *fastjson.Value
	o.Visit(func(_ []byte, v *fastjson.Value) {
		if found == nil {
			found = v
		}
	})
	return found
}

// errorType extracts error.type from an Elasticsearch error body, without the reason,
// which may quote document content.
func errorType(body []byte) string {
	v, err := fastjson.ParseBytes(body)
	if err != nil {
		return ""
	}
	return string(v.GetStringBytes("error", "type"))
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	return delivery.ParseRetryAfter(h, now)
}
