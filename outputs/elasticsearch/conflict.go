package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/valyala/fastjson"
)

// conflictDifferent is the dead-letter error type of a 409 whose stored document is
// not the event that was sent.
const conflictDifferent = "version_conflict_different_document"

// checkConflicts fetches, with one _mget, the stored documents behind the 409 answers
// (conflicts indexes items) and compares each with the bytes sent. Since the _id is the
// digest of those bytes, a 409 normally means the same document was stored by an
// earlier attempt; a stored source that lacks or changes anything sent means it was
// altered after indexing, or written under this id by something else, and the event is
// returned in differ, to be dead-lettered rather than counted as delivered. A stored
// source may have more members than was sent (an ingest pipeline adds fields). Items
// that cannot be checked now (the request failed, the document is gone) are returned in
// retry, keyed by their index in items. A document without _source (source disabled)
// cannot be compared: the id vouches for it.
func (o *Output) checkConflicts(ctx context.Context, body []byte, items []bulkItem, results []itemResult, conflicts []int) (differ []int, retry map[int]error) {
	retry = map[int]error{}
	type ref struct {
		Index string `json:"_index"`
		ID    string `json:"_id"`
	}
	req := struct {
		Docs []ref `json:"docs"`
	}{Docs: make([]ref, len(conflicts))}
	for j, k := range conflicts {
		index := results[k].errIndex
		if index == "" {
			index = items[k].index
		}
		req.Docs[j] = ref{index, items[k].id.String()}
	}
	fail := func(err error) ([]int, map[int]error) {
		for _, k := range conflicts {
			retry[k] = err
		}
		return nil, retry
	}
	reqBody, err := json.Marshal(req)
	if err != nil {
		return fail(fmt.Errorf("encode _mget for 409s: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	res, err := esapi.MgetRequest{
		Body:       bytes.NewReader(reqBody),
		FilterPath: []string{"docs.found", "docs._source", "docs.error.type"},
	}.Do(ctx, o.transport)
	if err != nil {
		return fail(fmt.Errorf("fetch documents answered 409: %w", err))
	}
	defer res.Body.Close()
	rbuf := o.getBuffer()
	defer o.buffers.Put(rbuf)
	rbuf.Reset()
	if _, err := rbuf.ReadFrom(res.Body); err != nil {
		return fail(fmt.Errorf("read _mget answer: %w", err))
	}
	if res.IsError() {
		return fail(fmt.Errorf("fetch documents answered 409: %w", &requestError{status: res.StatusCode, kind: errorType(rbuf.Bytes())}))
	}
	p := o.parsers.Get()
	defer o.parsers.Put(p)
	v, err := p.ParseBytes(rbuf.Bytes())
	if err != nil {
		return fail(fmt.Errorf("decode _mget answer: %w", err))
	}
	docs := v.GetArray("docs")
	var sp fastjson.Parser
	for j, k := range conflicts {
		if j >= len(docs) {
			retry[k] = errors.New("_mget returned no document for a 409")
			continue
		}
		d := docs[j]
		if t := d.GetStringBytes("error", "type"); t != nil {
			retry[k] = fmt.Errorf("fetch document answered 409: %s", t)
			continue
		}
		if !d.GetBool("found") {
			retry[k] = errors.New("document answered 409 is gone; creating it again")
			continue
		}
		stored := d.Get("_source")
		if stored == nil {
			continue
		}
		sent, err := sp.ParseBytes(body[items[k].src[0]:items[k].src[1]])
		if err != nil || !covers(stored, sent) {
			differ = append(differ, k)
		}
	}
	return differ, retry
}

// covers reports whether stored holds everything in sent unchanged: the same scalars
// (numbers by their text), arrays of the same length and order, and objects with at
// least sent's members.
func covers(stored, sent *fastjson.Value) bool {
	if stored.Type() != sent.Type() {
		return false
	}
	switch sent.Type() {
	case fastjson.TypeObject:
		so, _ := stored.Object()
		ok := true
		sent.GetObject().Visit(func(key []byte, v *fastjson.Value) {
			if ok {
				sv := so.Get(string(key))
				ok = sv != nil && covers(sv, v)
			}
		})
		return ok
	case fastjson.TypeArray:
		sa, _ := stored.Array()
		ta, _ := sent.Array()
		if len(sa) != len(ta) {
			return false
		}
		for i := range ta {
			if !covers(sa[i], ta[i]) {
				return false
			}
		}
		return true
	case fastjson.TypeString:
		return bytes.Equal(stored.GetStringBytes(), sent.GetStringBytes())
	case fastjson.TypeNumber:
		return bytes.Equal(stored.MarshalTo(nil), sent.MarshalTo(nil))
	}
	return true // true, false, null: the type says it all
}
