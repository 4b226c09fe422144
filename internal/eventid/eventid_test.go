package eventid

import "testing"

func TestOf(t *testing.T) {
	// sha256("abc"), FIPS 180-2 appendix B.1.
	if got := string(func() []byte { v := Of([]byte("abc")); return v[:] }()); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("Of(abc) = %s", got)
	}
	if Of([]byte(`{"n":1.5}`)) == Of([]byte(`{"n":1.50}`)) {
		t.Error("events differing in a byte share an id")
	}
}
