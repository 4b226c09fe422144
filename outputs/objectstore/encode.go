package objectstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

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

// zstdWindow bounds how far back zstd looks for a match. The encoder keeps twice the
// window as history, so klauspost's default of 8MiB cost 16MiB per encoder. Audit events
// repeat what the few hundred before them said: on the bench log 1MiB compresses 0.5%
// worse than 8MiB (7.51 vs 7.54), and as the bench's policy leaves it no worse (9.65).
const zstdWindow = 1 << 20

var codecs = map[string]codec{
	"gzip": {ext: ".ndjson.gz", encoding: "gzip", wrap: func(w io.Writer) (io.WriteCloser, error) {
		return gzip.NewWriterLevel(w, gzip.DefaultCompression)
	}},
	"zstd": {ext: ".ndjson.zst", encoding: "zstd", wrap: func(w io.Writer) (io.WriteCloser, error) {
		// One goroutine per object: the engine already runs uploads in parallel.
		return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(zstdWindow))
	}},
	"none": {ext: ".ndjson", wrap: func(w io.Writer) (io.WriteCloser, error) {
		return nopCloser{w}, nil
	}},
}

// object is one encoded object, ready to upload.
type object struct {
	// body is owned by the encoder that made it: valid until the encoder is put back.
	body []byte
	// digest identifies the object: the start of the SHA-256 of body.
	digest string
	// skipped are the events that could not be encoded, by index in the events given,
	// with why.
	skipped map[int]error
}

// encoder is a compressor with the buffer it writes the object into, kept together
// between objects.
type encoder struct {
	zw  io.WriteCloser
	out bytes.Buffer
	// line gathers events so that the compressor sees a few large writes.
	line []byte
}

// Buffers above these sizes are dropped rather than kept for the next object: an
// uncompressed object, or one unusually large, is not worth holding while idle.
const (
	keepOutBytes  = 4 << 20
	keepLineBytes = 1 << 20
	lineFlush     = 64 << 10
)

// writerPool keeps up to size encoders between objects. It is a free list rather than a
// sync.Pool because a sync.Pool is emptied by the garbage collector, which runs several
// times per object: every object then paid for a new compressor's tables and history.
type writerPool struct {
	c    codec
	free chan *encoder
}

func newWriterPool(c codec, size int) *writerPool {
	return &writerPool{c: c, free: make(chan *encoder, size)}
}

type resetter interface {
	io.WriteCloser
	Reset(w io.Writer)
}

func (p *writerPool) get() (*encoder, error) {
	select {
	case e := <-p.free:
		e.out.Reset()
		e.zw.(resetter).Reset(&e.out)
		return e, nil
	default:
	}
	e := &encoder{}
	zw, err := p.c.wrap(&e.out)
	if err != nil {
		return nil, fmt.Errorf("start %s writer: %w", p.c.ext, err)
	}
	e.zw = zw
	return e, nil
}

// put takes e back once its object is stored or abandoned; with reuseBuf false the buffer
// the object was written into is left to whoever may still hold it.
func (p *writerPool) put(e *encoder, reuseBuf bool) {
	if _, ok := e.zw.(resetter); !ok {
		return
	}
	if !reuseBuf || e.out.Cap() > keepOutBytes {
		e.out = bytes.Buffer{}
	}
	if cap(e.line) > keepLineBytes {
		e.line = nil
	}
	select {
	case p.free <- e:
	default:
	}
}

// encodeObject writes events as compressed NDJSON into e. An event that cannot be
// encoded is left out and reported in skipped rather than allowed to wedge the batch
// forever.
func encodeObject(events []*pipeline.Event, e *encoder) (object, error) {
	if _, ok := e.zw.(nopCloser); ok {
		in := 0
		for _, ev := range events {
			in += ev.InBytes + 1
		}
		// Uncompressed, the object is at most its input (filters only shrink events).
		e.out.Grow(in)
	}
	line := e.line[:0]
	var skipped map[int]error
	for i, ev := range events {
		n := len(line)
		next, err := ev.AppendJSON(line)
		if err != nil {
			// line up to n is untouched whatever AppendJSON wrote after it.
			line = line[:n]
			if skipped == nil {
				skipped = map[int]error{}
			}
			skipped[i] = err
			continue
		}
		line = append(next, '\n')
		if len(line) >= lineFlush {
			if _, err := e.zw.Write(line); err != nil {
				return object{}, fmt.Errorf("compress: %w", err)
			}
			line = line[:0]
		}
	}
	e.line = line[:0]
	if len(line) > 0 {
		if _, err := e.zw.Write(line); err != nil {
			return object{}, fmt.Errorf("compress: %w", err)
		}
	}
	if err := e.zw.Close(); err != nil {
		return object{}, fmt.Errorf("compress: %w", err)
	}
	body := e.out.Bytes()
	// The compressed bytes are several times fewer than the content, so they are cheaper
	// to hash, and the name can be checked with sha256sum. Both codecs are deterministic:
	// a retry of the same events gets the same digest and overwrites its first attempt.
	sum := sha256.Sum256(body)
	return object{body: body, digest: hex.EncodeToString(sum[:8]), skipped: skipped}, nil
}
