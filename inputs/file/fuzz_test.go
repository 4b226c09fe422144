package file

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/auditship/auditship/inputs/decode"
)

// FuzzFraming checks the line framing against frameModel, with the content
// arriving in two writes (so a held-back partial line must be completed), and feeds every
// framed line to the auto decoder, which must reject or accept it without panicking.
// Seeds: testdata/fuzz/FuzzFraming.
func FuzzFraming(f *testing.F) {
	f.Add([]byte(auditLine("seed-1")+auditLine("seed-2")), uint16(30), uint16(1024))
	f.Add([]byte("{\"a\":1}\n\xff\n\x00\x00\n[1]\n"), uint16(3), uint16(16))
	f.Add([]byte("partial line without newline"), uint16(5), uint16(1024))
	dec, err := decode.New("auto")
	if err != nil {
		f.Fatal(err)
	}
	// Within one process the fuzz function runs sequentially, so one file path serves.
	p := filepath.Join(f.TempDir(), "f.log")
	f.Fuzz(func(t *testing.T, content []byte, split, maxLine uint16) {
		max := int(maxLine)%4096 + 1
		cut := int(split) % (len(content) + 1)
		if err := os.WriteFile(p, content[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := openReader(p, false, 0, max)
		if err != nil {
			t.Fatal(err)
		}
		defer r.close()
		var got []frameResult
		drain := func() {
			for {
				kind, line, err := r.next()
				if err != nil {
					t.Fatal(err)
				}
				if kind == frameNone {
					return
				}
				got = append(got, frameResult{kind, string(line), r.off})
				if kind == frameLine {
					_, _ = dec.Decode(bytes.Clone(line))
				}
			}
		}
		drain()
		appendFile(t, p, string(content[cut:]))
		drain()

		want, off := frameModel(content, max)
		if len(got) != len(want) {
			t.Fatalf("got %d frames, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("frame %d: got %+v, want %+v", i, got[i], want[i])
			}
		}
		if r.off != off {
			t.Fatalf("offset %d, want %d (a partial line must not be passed)", r.off, off)
		}
	})
}

// frameModel is the framing rule written plainly: a line ends at '\n' or at a NUL; NUL
// runs between lines are skipped; a last line with neither after it is held back.
func frameModel(content []byte, max int) ([]frameResult, int64) {
	var want []frameResult
	i := 0
	for {
		for i < len(content) && content[i] == 0 {
			i++
		}
		j := i
		for j < len(content) && content[j] != '\n' && content[j] != 0 {
			j++
		}
		if j == len(content) {
			return want, int64(i)
		}
		end := j
		if content[j] == '\n' {
			end++
		}
		if j-i > max {
			want = append(want, frameResult{frameTooLong, "", int64(end)})
		} else {
			want = append(want, frameResult{frameLine, string(content[i:j]), int64(end)})
		}
		i = end
	}
}
