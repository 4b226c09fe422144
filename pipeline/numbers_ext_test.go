package pipeline_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/auditship/auditship/filters/policy"
	"github.com/auditship/auditship/filters/redact"
	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/internal/jsonbytes"
	"github.com/auditship/auditship/pipeline"
)

// numberPaths are the ways an event goes from a line to the bytes an output writes: read
// as it is, decoded whole, changed by a filter, or built from a kube-audit-rest line. Each
// returns what an output would write for a line holding the literal lit.
var numberPaths = []struct {
	name string
	run  func(t *testing.T, lit string) []byte
}{
	{"fast path, unchanged", func(t *testing.T, lit string) []byte {
		return ship(t, "audit", auditLine(lit, ""))
	}},
	{"fast path, every member read", func(t *testing.T, lit string) []byte {
		return ship(t, "audit", auditLine(lit, ""), func(ev *pipeline.Event) { ev.MutableFields() })
	}},
	{"slow path (a repeated key: decoded to a map, re-encoded)", func(t *testing.T, lit string) []byte {
		return ship(t, "audit", auditLine(lit, `"dup":1,"dup":2,`))
	}},
	{"slow path (nesting past the fast path's depth)", func(t *testing.T, lit string) []byte {
		deep := `"deep":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `,`
		return ship(t, "audit", auditLine(lit, deep))
	}},
	{"redaction changed the event", func(t *testing.T, lit string) []byte {
		f, err := redact.New(&redact.Config{Paths: []string{"requestObject.spec.token"}})
		if err != nil {
			t.Fatal(err)
		}
		return ship(t, "audit", auditLine(lit, ""), apply(t, f))
	}},
	{"redaction by the kubernetes-secrets preset", func(t *testing.T, lit string) []byte {
		f, err := redact.New(&redact.Config{Preset: redact.PresetKubernetesSecrets})
		if err != nil {
			t.Fatal(err)
		}
		// Only allow-listed members of a Secret survive: the number is in its metadata, twice
		// (an audit line has no oldObject: the decoder removes members outside the Event).
		secret := `{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s","generation":` + lit + `,"deletionGracePeriodSeconds":` + lit + `},"data":{"k":"czNjcjN0"},"stringData":{"k":"s3cr3t"}}`
		line := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a2",` +
			`"stage":"ResponseComplete","requestURI":"/api/v1/namespaces/ns/secrets/s","verb":"update",` +
			`"user":{"username":"alice"},"objectRef":{"resource":"secrets","namespace":"ns","name":"s","apiVersion":"v1"},` +
			`"requestObject":` + secret + `,"responseObject":` + secret + `}`
		out := ship(t, "audit", line, apply(t, f))
		if strings.Contains(string(out), "s3cr3t") {
			t.Fatalf("secret shipped: %s", out)
		}
		return out
	}},
	{"policy lowered the level (managedFields stripped)", func(t *testing.T, lit string) []byte {
		p, err := policy.Parse([]byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: true\nrules:\n- level: Request\n"))
		if err != nil {
			t.Fatal(err)
		}
		return ship(t, "audit", auditLine(lit, ""), apply(t, policy.New(p)))
	}},
	{"EventList (webhook) item", func(t *testing.T, lit string) []byte {
		return ship(t, "audit", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[`+auditLine(lit, "")+`]}`)
	}},
	{"kube-audit-rest line", func(t *testing.T, lit string) []byte {
		return ship(t, "kube-audit-rest", karLine(lit))
	}},
	{"kube-audit-rest line, auto format, redacted", func(t *testing.T, lit string) []byte {
		f, err := redact.New(&redact.Config{Paths: []string{"requestObject.spec.token"}, Action: "remove"})
		if err != nil {
			t.Fatal(err)
		}
		return ship(t, "auto", karLine(lit), apply(t, f))
	}},
}

// auditLine is an audit event with lit as requestObject.spec.n, responseObject.spec.n and
// in a list; extra is spliced into requestObject.
func auditLine(lit, extra string) string {
	return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a1",` +
		`"stage":"ResponseComplete","requestURI":"/api/v1/namespaces/ns/configmaps/cm","verb":"update",` +
		`"user":{"username":"alice"},"objectRef":{"resource":"configmaps","namespace":"ns","name":"cm","apiVersion":"v1"},` +
		`"responseStatus":{"metadata":{},"code":200},` +
		`"requestObject":{` + extra + `"kind":"ConfigMap","metadata":{"name":"cm","managedFields":[{"manager":"m"}]},` +
		`"spec":{"n":` + lit + `,"list":[` + lit + `,{"n":` + lit + `}],"token":"s3cr3t"},"data":{"k":"s3cr3t"}},` +
		`"responseObject":{"kind":"ConfigMap","spec":{"n":` + lit + `}},` +
		`"requestReceivedTimestamp":"2026-11-20T10:00:00.000000Z","stageTimestamp":"2026-11-20T10:00:00.000000Z"}`
}

// karLine is a kube-audit-rest line with lit in the request body and the old object.
func karLine(lit string) string {
	return `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u1",` +
		`"kind":{"group":"","version":"v1","kind":"ConfigMap"},"resource":{"group":"","version":"v1","resource":"configmaps"},` +
		`"name":"cm","namespace":"ns","operation":"UPDATE","userInfo":{"username":"alice"},` +
		`"object":{"kind":"ConfigMap","spec":{"n":` + lit + `,"list":[` + lit + `,{"n":` + lit + `}],"token":"s3cr3t"}},` +
		`"oldObject":{"kind":"ConfigMap","spec":{"n":` + lit + `}}},` +
		`"requestReceivedTimestamp":"2026-11-20T10:00:00.000000Z"}`
}

func apply(t *testing.T, f pipeline.Filter) func(*pipeline.Event) {
	return func(ev *pipeline.Event) {
		if keep, err := f.Apply(ev); err != nil || !keep {
			t.Fatalf("filter: keep %v, err %v", keep, err)
		}
	}
}

// ship decodes line in format, runs change over each event, then settles it and writes it
// as every output does (Settle, then AppendJSON), on a clone as well (per-output filters).
func ship(t *testing.T, format, line string, change ...func(*pipeline.Event)) []byte {
	t.Helper()
	dec, err := decode.New(format)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := dec.Decode([]byte(line))
	if err != nil || len(evs) != 1 {
		t.Fatalf("decode: %d events, %v", len(evs), err)
	}
	ev := evs[0]
	for _, c := range change {
		c(ev)
	}
	before, err := ev.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Settle(); err != nil {
		t.Fatal(err)
	}
	clone := ev.Clone()
	clone.MutableFields()
	for _, e := range []*pipeline.Event{ev, clone} {
		after, err := e.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(before, after) {
			t.Fatalf("settling or cloning changed the event:\n%s\n%s", before, after)
		}
	}
	return before
}

// sameJSON reports whether a and b hold the same JSON, numbers compared as text.
func sameJSON(a, b []byte) bool {
	var x, y any
	if jsonbytes.Unmarshal(a, &x) != nil || jsonbytes.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// numbersIn returns the text of every number in the JSON out.
func numbersIn(t *testing.T, out []byte) []string {
	t.Helper()
	var v any
	if err := jsonbytes.Unmarshal(out, &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	var nums []string
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case json.Number:
			nums = append(nums, string(t))
		case map[string]any:
			for _, x := range t {
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	walk(v)
	return nums
}

// checkLiteral: on every path, each number the output holds is lit as it was written
// (the status code 200 and the repeated key's 2 aside), and there are as many as the
// path keeps.
func checkLiteral(t *testing.T, lit string) {
	t.Helper()
	for _, p := range numberPaths {
		out := p.run(t, lit)
		found := 0
		for _, n := range numbersIn(t, out) {
			switch {
			case n == lit:
				found++
			case n == "200" || n == "2":
				// responseStatus.code, the repeated key's kept value
			default:
				t.Errorf("%s: literal %s written as %s", p.name, lit, n)
			}
		}
		if found < 3 {
			t.Errorf("%s: literal %s found %d times in %s", p.name, lit, found, out)
		}
	}
}

// TestNumbersKeepTheirText: integers past 2^53 and int64, exponents beyond float64's
// range, negative zero and trailing zeros are written with the digits they were read
// with, whatever path the event took (issue 13, kind 3).
func TestNumbersKeepTheirText(t *testing.T) {
	for _, lit := range []string{
		"9007199254740993", "1234567890123456789", "-9223372036854775809", "18446744073709551617",
		"123456789012345678901234567890123456789", "1e400", "-1E-400", "1e+2", "2.50E-3",
		"-0", "-0.0", "1.0", "0.10", "3.141592653589793238462643383279", "1.7976931348623157e309",
		"4.9e-325", "0", "200.0", "1" + strings.Repeat("0", 400),
	} {
		t.Run(lit[:min(len(lit), 40)], func(t *testing.T) { checkLiteral(t, lit) })
	}
}

// TestNumbersKeepTheirTextRandom is the same check over random literals of the JSON
// number grammar (sign, integer, fraction, exponent of any size).
func TestNumbersKeepTheirTextRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 3))
	digits := func(n int, lead bool) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			d := r.IntN(10)
			if i == 0 && lead && d == 0 {
				d = 1 + r.IntN(9)
			}
			b.WriteByte(byte('0' + d))
		}
		return b.String()
	}
	n := 300
	if testing.Short() {
		n = 60
	}
	for i := 0; i < n; i++ {
		var lit strings.Builder
		if r.IntN(2) == 0 {
			lit.WriteByte('-')
		}
		if r.IntN(5) == 0 {
			lit.WriteByte('0')
		} else {
			lit.WriteString(digits(1+r.IntN(30), true))
		}
		if r.IntN(2) == 0 {
			lit.WriteString("." + digits(1+r.IntN(20), false))
		}
		if r.IntN(3) == 0 {
			lit.WriteString([]string{"e", "E"}[r.IntN(2)] + []string{"", "+", "-"}[r.IntN(3)] + fmt.Sprint(r.IntN(1000)))
		}
		checkLiteral(t, lit.String())
		if t.Failed() {
			t.Fatalf("literal %s", lit.String())
		}
	}
}
