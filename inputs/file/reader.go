package file

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
)

// frame is what reader.next found.
type frame int

const (
	// frameNone: no complete line is available now (end of file, or a partial last line
	// that is held back until its newline arrives).
	frameNone frame = iota
	// frameLine: a complete line.
	frameLine
	// frameTooLong: a line longer than the limit was skipped whole.
	frameTooLong
)

const readBufferSize = 64 << 10

// reader frames newline-terminated lines from one file, starting at an offset into its
// (uncompressed) content. It holds back a partial last line and skips over-long lines
// without buffering them. It knows nothing of checkpoints: its caller decides what an
// offset means.
type reader struct {
	f   *os.File
	gz  *gzip.Reader
	br  *bufio.Reader
	max int
	// off is the offset just past the last line returned or skipped.
	off int64
	// pos is how far the stream has been consumed; beyond off only while skipping.
	pos      int64
	skipping bool
	scratch  []byte
	// nuls counts NUL bytes skipped between lines; the caller takes and resets it.
	nuls int64
	// term is the length of the last line's terminator: 1 for '\n', 0 for a NUL.
	term int
	// zin counts the compressed bytes a .gz reader consumed, to bound the expansion.
	zin *countingReader
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// errOffsetBeyondEnd means the offset to resume at lies past the end of the file's
// content: it is not the file the offset was recorded for, or it was truncated.
var errOffsetBeyondEnd = errors.New("offset beyond end of file")

// openReader opens path at offset. A gzip file is decompressed and the offset skipped in
// its uncompressed content, which is how a checkpoint taken on the plain file before it
// was compressed resumes inside the .gz.
func openReader(path string, gz bool, offset int64, maxLine int) (*reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r := &reader{f: f, max: maxLine}
	if err := r.start(gz, offset); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

func (r *reader) start(gz bool, offset int64) error {
	r.off, r.pos, r.skipping = offset, offset, false
	if !gz {
		if _, err := r.f.Seek(offset, io.SeekStart); err != nil {
			return fmt.Errorf("seek to %d: %w", offset, err)
		}
		r.br = bufio.NewReaderSize(r.f, readBufferSize)
		return nil
	}
	if _, err := r.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("seek to start: %w", err)
	}
	r.zin = &countingReader{r: r.f}
	zr, err := gzip.NewReader(r.zin)
	if err != nil {
		return fmt.Errorf("gzip header: %w", err)
	}
	r.gz = zr
	if n, err := io.CopyN(io.Discard, zr, offset); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: resume at %d, content ends at %d", errOffsetBeyondEnd, offset, n)
		}
		return fmt.Errorf("skip to %d in gzip: %w", offset, err)
	}
	r.br = bufio.NewReaderSize(zr, readBufferSize)
	return nil
}

func (r *reader) close() error {
	if r.gz != nil {
		r.gz.Close()
	}
	return r.f.Close()
}

// next returns the next complete line without its newline; the slice is valid until the
// following call. For frameTooLong and frameLine, r.off has moved past the line.
//
// A run of NUL bytes ends a line as a newline does, and is skipped (counted in r.nuls):
// no JSON text holds a raw NUL, and a writer that keeps its file offset after a
// copytruncate (logrotate's documented caveat) or a file system recovering from a crash
// leaves a run of them, as long as the file was, before the next event. Counted against
// max_line_bytes it would take that event with it.
func (r *reader) next() (frame, []byte, error) {
	if cap(r.scratch) > 4*readBufferSize {
		r.scratch = nil // one long line must not pin its memory for the file's lifetime
	}
	r.scratch = r.scratch[:0]
	for {
		buf, err := r.br.Peek(max(r.br.Buffered(), 1))
		if len(buf) == 0 {
			if errors.Is(err, io.EOF) {
				return frameNone, nil, r.holdBack()
			}
			return frameNone, nil, err
		}
		buf = buf[:r.br.Buffered()]
		if buf[0] == 0 && r.pos == r.off {
			n := leadingNULs(buf)
			r.consume(n)
			r.nuls += int64(n)
			r.off = r.pos
			continue
		}
		seg, ended := buf, false
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			seg, ended = buf[:i], true
		}
		if i := bytes.IndexByte(seg, 0); i >= 0 {
			seg, ended = seg[:i], true // the NULs are skipped by the next call
		}
		if !ended {
			r.consume(len(seg))
			if r.skipping {
				continue
			}
			if len(r.scratch)+len(seg) > r.max {
				// Skip the rest without keeping it: memory stays bounded whatever the writer does.
				r.skipping = true
				r.scratch = r.scratch[:0]
				continue
			}
			r.scratch = append(r.scratch, seg...)
			continue
		}
		line := seg
		if len(r.scratch) > 0 && !r.skipping {
			r.scratch = append(r.scratch, seg...)
			line = r.scratch
		}
		n := len(seg)
		if n < len(buf) && buf[n] == '\n' {
			n++
		}
		r.term = n - len(seg)
		r.consume(n)
		r.off = r.pos
		if r.skipping || len(line) > r.max {
			r.skipping = false
			return frameTooLong, nil, nil
		}
		return frameLine, line, nil
	}
}

// consume discards n bytes the caller has looked at through Peek.
func (r *reader) consume(n int) {
	_, _ = r.br.Discard(n) // n <= Buffered(): cannot fail
	r.pos += int64(n)
}

func leadingNULs(b []byte) int {
	n := 0
	for n < len(b) && b[n] == 0 {
		n++
	}
	return n
}

// holdBack rewinds to the start of a partial last line so it is read again, whole, once
// its newline arrives. While skipping an over-long line there is nothing to keep: the
// reader stays where it is and resumes skipping.
func (r *reader) holdBack() error {
	if r.skipping || r.pos == r.off {
		return nil
	}
	if r.gz != nil {
		// A complete gzip member never grows, so the partial line is final; a gzip still
		// being written ends in ErrUnexpectedEOF instead and is reopened by the caller.
		return nil
	}
	if _, err := r.f.Seek(r.off, io.SeekStart); err != nil {
		return fmt.Errorf("seek back to %d: %w", r.off, err)
	}
	r.br.Reset(r.f)
	r.pos = r.off
	return nil
}

// partial reports how many bytes past off were seen without their newline.
func (r *reader) partial() int64 { return r.pos - r.off }

// isBlank reports whether a line carries nothing but whitespace; such lines are skipped
// without being counted as invalid.
func isBlank(line []byte) bool { return len(bytes.TrimSpace(line)) == 0 }
