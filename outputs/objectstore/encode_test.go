package objectstore

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

func TestWriterPoolReusesEncodersAndBuffers(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	// Over 3MB: several zstd blocks and more than its window, so a reused encoder's
	// history and match tables are exercised, not just its first block.
	first := syntheticBatch(t, 0, 10000, start, time.Millisecond)
	second := syntheticBatch(t, 10000, 20, start, time.Second)
	for _, tc := range []struct {
		comp string
		// pooled: the codec's writer can be reset, so it is kept between objects.
		pooled bool
	}{
		{"gzip", true},
		{"zstd", true},
		{"none", false},
	} {
		t.Run(tc.comp, func(t *testing.T) {
			p := newWriterPool(codecs[tc.comp], uploads)
			e1, err := p.get()
			if err != nil {
				t.Fatal(err)
			}
			obj1, err := encodeObject(first, e1)
			if err != nil {
				t.Fatal(err)
			}
			stored := bytes.Clone(obj1.body)
			p.put(e1, true)

			e2, err := p.get()
			if err != nil {
				t.Fatal(err)
			}
			if (e2 == e1) != tc.pooled {
				t.Errorf("second get returned the first encoder = %v, want %v", e2 == e1, tc.pooled)
			}
			obj2, err := encodeObject(second, e2)
			if err != nil {
				t.Fatal(err)
			}
			// A reset encoder must start a fresh object: nothing of the first may leak in.
			if got, want := decodeObject(t, "x"+codecs[tc.comp].ext, obj2.body), batchLines(t, second); !slices.Equal(got, want) {
				t.Errorf("reused encoder wrote %d lines, want exactly the %d of the second batch", len(got), len(want))
			}

			// A body whose upload failed may still be read: the next object must not be
			// written over it.
			failed := obj2.body
			failedCopy := bytes.Clone(failed)
			p.put(e2, false)
			e3, err := p.get()
			if err != nil {
				t.Fatal(err)
			}
			obj3, err := encodeObject(first, e3)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(failed, failedCopy) {
				t.Error("the body of a failed upload was overwritten by the next object")
			}
			// The digest names the object: the same events through a used encoder must
			// give the same bytes, or a retry would add an object instead of overwriting.
			if obj3.digest != obj1.digest || !bytes.Equal(obj3.body, stored) {
				t.Error("the same events encoded again differ from the first encoding")
			}
			p.put(e3, true)

			// The free list holds at most `uploads` encoders, however many were handed out.
			var extra []*encoder
			for range uploads + 2 {
				e, err := p.get()
				if err != nil {
					t.Fatal(err)
				}
				extra = append(extra, e)
			}
			for _, e := range extra {
				p.put(e, true)
			}
			want := 0
			if tc.pooled {
				want = uploads
			}
			if len(p.free) != want {
				t.Errorf("free list holds %d encoders, want %d", len(p.free), want)
			}
		})
	}
}

func TestWriterPoolKeepsOnlyReusableBuffers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		out, line int
		reuseBuf  bool
		keepOut   bool
		keepLine  bool
	}{
		{"small buffers are kept", 64 << 10, 64 << 10, true, true, true},
		{"an object buffer above the limit is dropped", keepOutBytes + 1, 64 << 10, true, false, true},
		{"a line buffer above the limit is dropped", 64 << 10, keepLineBytes + 1, true, true, false},
		{"the buffer of a failed upload is dropped", 64 << 10, 64 << 10, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newWriterPool(codecs["zstd"], 1)
			e, err := p.get()
			if err != nil {
				t.Fatal(err)
			}
			e.out.Grow(tc.out)
			e.line = make([]byte, 0, tc.line)
			p.put(e, tc.reuseBuf)
			e, err = p.get()
			if err != nil {
				t.Fatal(err)
			}
			if kept := e.out.Cap() >= tc.out; kept != tc.keepOut {
				t.Errorf("object buffer of %d bytes kept = %v, want %v", tc.out, kept, tc.keepOut)
			}
			if kept := cap(e.line) >= tc.line; kept != tc.keepLine {
				t.Errorf("line buffer of %d bytes kept = %v, want %v", tc.line, kept, tc.keepLine)
			}
		})
	}
}
