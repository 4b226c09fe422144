package jsonbytes

import (
	"encoding/json"
	"testing"
)

func TestEditMember(t *testing.T) {
	drop := func([]byte) ([]byte, bool) { return nil, true }
	tests := []struct {
		name, in, key string
		edit          func([]byte) ([]byte, bool)
		want          string
		changed       bool
	}{
		{"first of three", `{"a":1,"b":2,"c":3}`, "a", drop, `{"b":2,"c":3}`, true},
		{"middle", `{"a":1,"b":2,"c":3}`, "b", drop, `{"a":1,"c":3}`, true},
		{"last", `{"a":1,"b":2,"c":3}`, "c", drop, `{"a":1,"b":2}`, true},
		{"only", `{"a":[1,{"x":"}"}]}`, "a", drop, `{}`, true},
		{"spaces", ` { "a" : 1 , "b" : { "c" : 2 } } `, "b", drop, ` { "a" : 1 } `, true},
		{"repeated, both go", `{"a":1,"b":2,"a":3}`, "a", drop, `{"b":2}`, true},
		{"repeated at the end", `{"b":2,"a":1,"a":3}`, "a", drop, `{"b":2}`, true},
		{"escaped key", `{"\u0061":1,"b":2}`, "a", drop, `{"b":2}`, true},
		{"absent", `{"a":1}`, "z", drop, `{"a":1}`, false},
		{"not an object", `[1,2]`, "a", drop, `[1,2]`, false},
		{"empty object", `{}`, "a", drop, `{}`, false},
		{"replace", `{"a":"x","b":2}`, "a", func([]byte) ([]byte, bool) { return []byte(`{"y":null}`), true }, `{"a":{"y":null},"b":2}`, true},
		{"edit says unchanged", `{"a":1}`, "a", func(v []byte) ([]byte, bool) { return v, false }, `{"a":1}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := EditMember([]byte(tt.in), tt.key, tt.edit)
			if string(got) != tt.want || changed != tt.changed {
				t.Fatalf("got %s, %v; want %s, %v", got, changed, tt.want, tt.changed)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON %s", got)
			}
		})
	}
}

func TestEditElements(t *testing.T) {
	strip := func(v []byte) ([]byte, bool) { return DeleteMember(v, "m") }
	tests := []struct{ in, want string }{
		{`[]`, `[]`},
		{`[1,"x",{"a":1}]`, `[1,"x",{"a":1}]`},
		{`[{"m":1,"a":1},2,{"a":[{"m":3}],"m":"]"}]`, `[{"a":1},2,{"a":[{"m":3}]}]`},
		{` [ {"m":1} , {"m":2} ] `, ` [ {} , {} ] `},
	}
	for _, tt := range tests {
		got, changed := EditElements([]byte(tt.in), strip)
		if string(got) != tt.want || changed != (tt.in != tt.want) {
			t.Fatalf("%s: got %s, %v; want %s", tt.in, got, changed, tt.want)
		}
	}
}
