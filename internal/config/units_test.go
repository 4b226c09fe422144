package config

import "testing"

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr bool
	}{
		{"4096", 4096, false},
		{"4MiB", 4 << 20, false},
		{"4mib", 4 << 20, false},
		{"5MB", 5_000_000, false},
		{"1.5GiB", 3 << 29, false},
		{"512 KiB", 512 << 10, false},
		{"64Mi", 64 << 20, false},
		{"10b", 10, false},
		{"", 0, true},
		{"lots", 0, true},
		{"-1MiB", 0, true},
		{"1e30GiB", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseByteSize(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d, err=%v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	if s := ByteSize(64 << 20).String(); s != "64MiB" {
		t.Errorf("String() = %s", s)
	}
}
