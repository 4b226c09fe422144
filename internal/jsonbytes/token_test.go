package jsonbytes

import "testing"

// TestSpecial8 checks the eight-byte test against the byte table for every byte value in
// every position.
func TestSpecial8(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			var w [8]byte
			for i := range w {
				w[i] = 'a'
			}
			w[pos] = byte(c)
			x := uint64(0)
			for i := 7; i >= 0; i-- {
				x = x<<8 | uint64(w[i])
			}
			if got, want := special8(x), !plain[c]; got != want {
				t.Fatalf("byte %#x at %d: special8 = %v, want %v", c, pos, got, want)
			}
		}
	}
}
