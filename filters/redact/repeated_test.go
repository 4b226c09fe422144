package redact

import "testing"

func TestHasRepeatedKey(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`{"a":1,"b":2}`, false},
		{`{"a":1,"a":2}`, true},
		{`{"a":{"b":1},"c":{"b":2}}`, false},          // the same name in two objects
		{`{"a":[{"b":1,"b":2}]}`, true},               // inside an array
		{`{"a":"a","b":["a","a"]}`, false},            // values equal to names
		{`{"data":1,"\u0064ata":2}`, true},            // names compared unescaped
		{`{"a":{"x":1},"b":[1,{"y":2}],"a":3}`, true}, // after nested values
		{`[{"a":1},{"a":1}]`, false},
	} {
		if got := hasRepeatedKey(tc.in); got != tc.want {
			t.Errorf("hasRepeatedKey(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
