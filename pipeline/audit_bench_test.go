package pipeline_test

import (
	"testing"

	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/pipeline"
)

// BenchmarkView: what the audit view costs per event, on the generator's events read
// lazily as the decoder reads them: the header whole, the time alone, and (for
// comparison) the four members the audit_policy filter reads by path.
func BenchmarkView(b *testing.B) {
	g := gen.New(1)
	lines := make([][]byte, 2000)
	for i := range lines {
		lines[i] = g.Event(i)
	}
	fresh := func(i int) *pipeline.Event {
		ev, err := pipeline.NewRawEvent(lines[i%len(lines)], pipeline.SourceAudit)
		if err != nil {
			b.Fatal(err)
		}
		return ev
	}
	for _, bc := range []struct {
		name string
		read func(*pipeline.Event)
	}{
		{"scan-only", func(*pipeline.Event) {}},
		{"header", func(ev *pipeline.Event) { _ = ev.Header() }},
		{"time", func(ev *pipeline.Event) { _, _, _ = ev.Time() }},
		{"policy-reads", func(ev *pipeline.Event) {
			_, _ = ev.Path("user", "username")
			_, _ = ev.Path("user", "groups")
			_, _ = ev.Path("verb")
			_, _ = ev.Path("requestURI")
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				bc.read(fresh(i)) // the scan is in every case: subtract scan-only
			}
		})
	}
}
