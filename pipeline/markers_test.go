package pipeline

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestMarkersIn(t *testing.T) {
	m := NewMarkers([]byte(`"Secret`), []byte(`"TokenRe`), []byte("last-applied-configuration"), []byte(`\u`))
	cases := []struct {
		in   string
		want bool
	}{
		{``, false},
		{`"`, false},
		{`{"kind":"Secret"}`, true},
		{`{"kind":"SecretList"}`, true},
		{`{"kind":"secret"}`, false},
		{`"Secre`, false},
		{`"Secret`, true}, // at the very end
		{`x"Secret`, true},
		{`""Secret`, true}, // a false start right before
		{`"TokenReview"`, true},
		{`"TokenR"`, false},
		{`"Token"`, false},
		{`kubectl.kubernetes.io/last-applied-configuration`, true},
		{`last-applied-configuratio`, false},
		{`lllast-applied-configuration`, true},
		{`\u0053`, true},
		{`\`, false},
		{`\\`, false},
		{`a\"b\"`, false},
		{`tail\u`, true},
		{`{"k:{\"name\":\"app\"}":{}}`, false},
	}
	for _, c := range cases {
		if got := m.In([]byte(c.in)); got != c.want {
			t.Errorf("In(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestMarkersInAgreesWithContains: In is bytes.Contains of any marker, on random texts
// over an alphabet made of the markers' bytes, so that near misses are frequent.
func TestMarkersInAgreesWithContains(t *testing.T) {
	sets := [][][]byte{
		{[]byte(`"Secret`), []byte(`"TokenRe`), []byte("last-applied-configuration"), []byte(`\u`)},
		{[]byte("managedFields"), []byte(`\u`)},
		{[]byte("a"), []byte("ab"), []byte("ba")},
		{[]byte("aa"), []byte("aab")},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, set := range sets {
		m := NewMarkers(set...)
		var alphabet []byte
		for _, k := range set {
			alphabet = append(alphabet, k...)
		}
		for n := 0; n < 20000; n++ {
			b := make([]byte, r.IntN(40))
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			if r.IntN(4) == 0 { // plant a marker, maybe cut short
				k := set[r.IntN(len(set))]
				at := r.IntN(len(b) + 1)
				k = k[:len(k)-r.IntN(2)]
				b = append(b[:at:at], append(append([]byte(nil), k...), b[at:]...)...)
			}
			want := false
			for _, k := range set {
				want = want || bytes.Contains(b, k)
			}
			if got := m.In(b); got != want {
				t.Fatalf("set %q: In(%q) = %v, want %v", set, b, got, want)
			}
		}
	}
}

// TestMayContainAny: the event-level search answers as MayContain of each marker does,
// on events as read, with members deleted and with members set.
func TestMayContainAny(t *testing.T) {
	markers := [][]byte{[]byte(`"Secret`), []byte("last-applied-configuration")}
	m := NewMarkers(markers...)
	// The no-top path (an event decoded whole, raw kept) is searched as one span.
	whole := NewEvent([]byte(`{"a":"\"Secret"}`), map[string]any{"a": `"Secret`}, SourceAudit)
	if !whole.MayContainAny(m) {
		t.Error("an event decoded whole: the marker in its raw bytes is not found")
	}
	lines := []string{
		`{"kind":"Event","verb":"get"}`,
		`{"kind":"Event","responseObject":{"kind":"Secret"}}`,
		`{"kind":"Event","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"x"}}`,
	}
	edits := []func(*Event){
		func(*Event) {},
		func(e *Event) { e.DeleteField("responseObject") },
		func(e *Event) { e.DeleteField("annotations") },
		func(e *Event) { e.SetField("verb", `"Secret`) },
		func(e *Event) { e.SetField("verb", "list") },
	}
	for _, line := range lines {
		for i, edit := range edits {
			ev, err := NewRawEvent([]byte(line), SourceAudit)
			if err != nil {
				t.Fatal(err)
			}
			edit(ev)
			want := false
			for _, k := range markers {
				want = want || ev.MayContain(k)
			}
			if got := ev.MayContainAny(m); got != want {
				t.Errorf("%s, edit %d: MayContainAny = %v, MayContain of each = %v", line, i, got, want)
			}
		}
	}
}

// TestKeyMarkers: the token, \u, and \/ for a key with a slash; nil (may) for a key that
// is not plain ASCII.
func TestKeyMarkers(t *testing.T) {
	cases := []struct {
		key, in string
		want    bool
	}{
		{"managedFields", `{"managedFields":[]}`, true},
		{"managedFields", `{"m\u0061nagedFields":[]}`, true},
		{"managedFields", `{"managedField":[],"x":"managedFieldsX"}`, false},
		{"a/b", `{"a\/b":1}`, true},
		{"ab", `{"a\/b":1}`, false},
	}
	for _, c := range cases {
		if got := KeyMarkers(c.key).In([]byte(c.in)); got != c.want {
			t.Errorf("KeyMarkers(%q).In(%s) = %v, want %v", c.key, c.in, got, c.want)
		}
	}
	if KeyMarkers("clé") != nil {
		t.Error("KeyMarkers of a non-ASCII key: want nil")
	}
	ev, err := NewRawEvent([]byte(`{"kind":"Event"}`), SourceAudit)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.MayContainAny(nil) {
		t.Error("MayContainAny(nil) = false, want true (may)")
	}
}
