package objectstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/auditship/auditship/pipeline"
)

// codec is one compression choice: the writer, the key suffix and the Content-Encoding.
type codec struct {
	ext      string
	encoding string
	wrap     func(w io.Writer) (io.WriteCloser, error)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

var codecs = map[string]codec{
	"gzip": {ext: ".ndjson.gz", encoding: "gzip", wrap: func(w io.Writer) (io.WriteCloser, error) {
		return gzip.NewWriterLevel(w, gzip.DefaultCompression)
	}},
	"zstd": {ext: ".ndjson.zst", encoding: "zstd", wrap: func(w io.Writer) (io.WriteCloser, error) {
		// One goroutine per object: the engine already runs uploads in parallel.
		return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
	}},
	"none": {ext: ".ndjson", wrap: func(w io.Writer) (io.WriteCloser, error) {
		return nopCloser{w}, nil
	}},
}

// object is one encoded object, ready to upload.
type object struct {
	body []byte
	// digest identifies the object's uncompressed content.
	digest string
	// skipped are the events that could not be encoded.
	skipped int
}

// writerPool keeps compressors between objects: a zstd encoder allocates megabytes of
// tables, which would otherwise be paid for every object.
type writerPool struct {
	c    codec
	pool sync.Pool
}

type resetter interface {
	io.WriteCloser
	Reset(w io.Writer)
}

func (p *writerPool) get(w io.Writer) (io.WriteCloser, error) {
	if zw, ok := p.pool.Get().(resetter); ok {
		zw.Reset(w)
		return zw, nil
	}
	return p.c.wrap(w)
}

func (p *writerPool) put(zw io.WriteCloser) {
	if r, ok := zw.(resetter); ok {
		p.pool.Put(r)
	}
}

// encodeObject writes events as compressed NDJSON. An event that cannot be encoded is
// left out and counted rather than allowed to wedge the batch forever.
func encodeObject(events []*pipeline.Event, p *writerPool) (object, error) {
	in := 0
	for _, ev := range events {
		in += ev.InBytes + 1
	}
	var out bytes.Buffer
	if p.c.encoding == "" {
		out.Grow(in)
	} else {
		// Audit logs compress about tenfold; a generous guess saves most regrowth.
		out.Grow(in/5 + 4096)
	}
	zw, err := p.get(&out)
	if err != nil {
		return object{}, fmt.Errorf("start %s writer: %w", p.c.ext, err)
	}
	defer p.put(zw)
	h := sha256.New()
	var line []byte
	skipped := 0
	for _, ev := range events {
		line, err = ev.AppendJSON(line[:0])
		if err != nil {
			skipped++
			continue
		}
		line = append(line, '\n')
		h.Write(line)
		if _, err := zw.Write(line); err != nil {
			return object{}, fmt.Errorf("compress: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return object{}, fmt.Errorf("compress: %w", err)
	}
	return object{body: out.Bytes(), digest: hex.EncodeToString(h.Sum(nil)[:8]), skipped: skipped}, nil
}
