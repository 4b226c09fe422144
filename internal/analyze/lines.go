package analyze

import (
	"bufio"
	"errors"
	"io"
)

// ErrLineTooLong is the error ReadLine returns (wrapped, with the line's size) for a line
// longer than its bound.
var ErrLineTooLong = errors.New("line too long")

type tooLong struct{ n int64 }

func (t tooLong) Error() string   { return ErrLineTooLong.Error() }
func (t tooLong) Is(e error) bool { return e == ErrLineTooLong }

func lineBytes(err error) int64 {
	var t tooLong
	if errors.As(err, &t) {
		return t.n
	}
	return 0
}

// ReadLine returns the next line without its newline. A line longer than max is consumed
// whole, never split, and reported as an error that is ErrLineTooLong and carries its size
// (newline included; see lineBytes).
func ReadLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	var n int64
	over := false
	for {
		chunk, err := br.ReadSlice('\n')
		n += int64(len(chunk))
		if !over {
			if len(line)+len(chunk) > max+1 {
				over, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if over {
			if err != nil && err != io.EOF {
				return nil, err
			}
			if chunk := n; chunk > 0 && err == io.EOF {
				n++ // count a missing final newline as the reader of the file would
			}
			return nil, tooLong{n: n}
		}
		if k := len(line); k > 0 && line[k-1] == '\n' {
			line = line[:k-1]
		} else if len(line) > 0 && err == io.EOF {
			// last line without newline: counted as if it had one
		}
		return line, err
	}
}
