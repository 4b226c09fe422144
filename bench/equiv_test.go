package bench

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/internal/agent"
	"github.com/auditship/auditship/internal/corpustest"
	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/internal/jsonbytes"
	"github.com/auditship/auditship/pipeline"
)

// benchChain builds bench.yaml's global filters, as the agent does.
func benchChain(t testing.TB) pipeline.Chain {
	t.Helper()
	f := agent.Factories()
	cfg, err := agent.Load(benchConfig(t), f)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.Build(cfg, f, agent.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return a.Filters
}

// referenceEvents decodes a line as the agent did before the fast path: encoding/json
// into a map, the event then encoded from that map whenever a filter changes it.
// It starts from the decoded events (not a second decode), so what the decoder adds
// at read time (a kube-audit-rest line without a timestamp gets the time it was read) is
// the same on both sides.
func referenceEvents(t *testing.T, got []*pipeline.Event) []*pipeline.Event {
	t.Helper()
	out := make([]*pipeline.Event, 0, len(got))
	for _, ev := range got {
		body, err := ev.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		// As the agent decodes: numbers keep their literal text (json.Number).
		if err := jsonbytes.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		r := pipeline.NewEvent(body, m, ev.Source)
		if ev.Raw() == nil {
			r = pipeline.NewEvent(nil, m, ev.Source)
		}
		out = append(out, r)
	}
	return out
}

// same runs line through chain on the fast path and on the reference and checks that the
// same events survive, with the same JSON.
func same(t *testing.T, chain pipeline.Chain, format string, line []byte) (kept int) {
	t.Helper()
	d, err := decode.New(format)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := d.Decode(line)
	if err != nil {
		var m map[string]any
		if jsonbytes.Unmarshal(line, &m) == nil && m["auditID"] != nil {
			t.Fatalf("fast path rejected a line encoding/json takes: %v", err)
		}
		return 0
	}
	ref := referenceEvents(t, fast)
	if len(fast) != len(ref) {
		t.Fatalf("fast path made %d events, reference %d", len(fast), len(ref))
	}
	for i := range fast {
		fk := chain.Keep(fast[i], pipeline.NopObserver{})
		rk := chain.Keep(ref[i], pipeline.NopObserver{})
		if fk != rk {
			t.Fatalf("event %d: fast path kept=%v, reference kept=%v: %.300s", i, fk, rk, line)
		}
		if !fk {
			continue
		}
		kept++
		// As the engine does before the outputs; the settled event must read and write
		// the same.
		if err := fast[i].Settle(); err != nil {
			t.Fatal(err)
		}
		fb, err := fast[i].AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := ref[i].AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		var fm, rm any
		if err := jsonbytes.Unmarshal(fb, &fm); err != nil {
			t.Fatalf("fast path wrote invalid JSON: %v: %.300s", err, fb)
		}
		if err := jsonbytes.Unmarshal(rb, &rm); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fm, rm) {
			t.Fatalf("event %d: fast path wrote\n%.600s\nreference wrote\n%.600s", i, fb, rb)
		}
		for k, v := range rm.(map[string]any) {
			if got := fast[i].Field(k); !reflect.DeepEqual(got, v) {
				t.Fatalf("event %d: settled Field(%q) = %v, want %v", i, k, got, v)
			}
		}
		if fast[i].Redacted != ref[i].Redacted {
			t.Fatalf("event %d: fast path redacted %d fields, reference %d", i, fast[i].Redacted, ref[i].Redacted)
		}
		if gen.ContainsCanary(fb) {
			t.Fatalf("event %d: a canary survived the secrets preset: %.300s", i, fb)
		}
	}
	return kept
}

// TestFastPathMatchesReference: after bench.yaml's filters, the fast path (lazy decoding,
// spliced output) writes the same events, as the same JSON, as encoding/json decoding and
// encoding from the map — over generated events with canaries and the public corpus.
func TestFastPathMatchesReference(t *testing.T) {
	chain := benchChain(t)
	kept := 0
	g := gen.New(11).WithCanaries(true)
	for i := 0; i < 4000; i++ {
		kept += same(t, chain, "audit", g.Event(i))
	}
	kar := gen.New(12).WithCanaries(true).WithFormat(gen.FormatKubeAuditRest)
	for i := 0; i < 500; i++ {
		kept += same(t, chain, "auto", kar.Event(i))
	}
	if kept == 0 {
		t.Fatal("the chain kept no generated event")
	}
	lines := 0
	corpustest.Lines(t, func(path string, line []byte) {
		if strings.HasSuffix(path, ".md") || strings.Contains(path, "policies") || len(bytes.TrimSpace(line)) == 0 {
			return
		}
		same(t, chain, "auto", line)
		lines++
	})
	if lines == 0 {
		t.Fatal("no corpus lines")
	}
}
