package elasticsearch

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/auditship/auditship/pipeline"
)

// bulkItem is what the output remembers of each event it put in a bulk body, to match
// the response items (which come back in request order) and to dead-letter.
type bulkItem struct {
	pos   int // index in the batch
	index string
	id    docID
	// src is where the document's bytes are in the bulk body, to compare with what a
	// 409 says is stored.
	src [2]int
}

// badItem is an event that could not be encoded: it is dead-lettered, not sent.
type badItem struct {
	pos    int
	reason string
}

// encoder turns batches into Bulk API bodies.
type encoder struct {
	pattern    *indexPattern
	dataStream string
	now        func() time.Time
	gz         sync.Pool
}

// encode appends a Bulk API body for b to dst: one `create` action and one source line
// per event, each line ending in \n as the API requires.
func (e *encoder) encode(dst []byte, b pipeline.Batch) ([]byte, []bulkItem, []badItem) {
	items := make([]bulkItem, 0, len(b))
	var bad []badItem
	namer := indexNamer{p: e.pattern}
	now := e.now()
	var doc []byte
	for i, ev := range b {
		var err error
		doc, err = ev.AppendJSON(doc[:0])
		if err != nil {
			bad = append(bad, badItem{pos: i, reason: err.Error()})
			continue
		}
		t, rawTS := eventTime(ev, now)
		index := e.dataStream
		if index == "" {
			index = namer.name(t)
		} else if !ev.Has("@timestamp") {
			// Data streams require @timestamp; audit events carry their own times.
			doc, err = injectTimestamp(doc, rawTS)
			if err != nil {
				bad = append(bad, badItem{pos: i, reason: err.Error()})
				continue
			}
		}
		// The id is taken from the bytes sent, @timestamp included.
		id := deriveDocID(doc)
		// Index names and ids are validated/hex, so they need no JSON escaping.
		dst = append(dst, `{"create":{"_index":"`...)
		dst = append(dst, index...)
		dst = append(dst, `","_id":"`...)
		dst = append(dst, id[:]...)
		dst = append(dst, "\"}}\n"...)
		start := len(dst)
		dst = append(dst, doc...)
		items = append(items, bulkItem{pos: i, index: index, id: id, src: [2]int{start, len(dst)}})
		dst = append(dst, '\n')
	}
	return dst, items, bad
}

// injectTimestamp adds "@timestamp" as the first member of the JSON object doc.
func injectTimestamp(doc []byte, ts string) ([]byte, error) {
	i := 0
	for i < len(doc) && isSpace(doc[i]) {
		i++
	}
	if i == len(doc) || doc[i] != '{' {
		return doc, fmt.Errorf("event is not a JSON object")
	}
	j := i + 1
	for j < len(doc) && isSpace(doc[j]) {
		j++
	}
	member := `"@timestamp":"` + ts + `"`
	if j < len(doc) && doc[j] != '}' {
		member += ","
	}
	return slices.Insert(doc, i+1, []byte(member)...), nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// gzipBody compresses body into dst. Compressors are pooled: allocating one per
// request costs more than compressing a small batch.
func (e *encoder) gzipBody(dst *bytes.Buffer, body []byte) error {
	w, _ := e.gz.Get().(*gzip.Writer)
	if w == nil {
		w, _ = gzip.NewWriterLevel(nil, gzip.BestSpeed)
	}
	defer e.gz.Put(w)
	w.Reset(dst)
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("gzip bulk body: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("gzip bulk body: %w", err)
	}
	return nil
}
