package jsonbytes

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// benchLines reads up to n lines of the bench input (make bench generates it; the
// benchmark skips without it). The generator imports this package, so it cannot make them.
func benchLines(b *testing.B, n int) ([][]byte, int64) {
	b.Helper()
	f, err := os.Open(filepath.Join("..", "..", "bench-out", "audit.log"))
	if err != nil {
		b.Skip("bench input not present:", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	var lines [][]byte
	var size int64
	for len(lines) < n && sc.Scan() {
		l := bytes.Clone(sc.Bytes())
		lines = append(lines, l)
		size += int64(len(l))
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	if len(lines) == 0 {
		b.Skip("bench input is empty")
	}
	return lines, size
}

// BenchmarkScanLine: what the decoder runs on every line before any member is read
// (scanLine), over the first lines of the bench input: a few hundred that stay in the
// cache, as a line just read does, and thousands that do not.
func BenchmarkScanLine(b *testing.B) {
	for _, n := range []int{256, 4000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			lines, size := benchLines(b, n)
			b.SetBytes(size / int64(len(lines)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := scanLine(lines[i%len(lines)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// scanLine is all the decoder runs now: ScanObject checks UTF-8 too, where utf8.Valid
// over the line used to precede it.
func scanLine(b []byte) ([]Member, error) { return ScanObject(b) }
