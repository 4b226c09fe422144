package analyze

import (
	"bytes"
	"testing"

	"github.com/auditship/auditship/internal/gen"
)

// BenchmarkAnalyze measures one pass over 20,000 generated events (about 64 MB), both
// cores decoding: MB/s is input bytes per second.
func BenchmarkAnalyze(b *testing.B) {
	g := gen.New(1)
	var buf bytes.Buffer
	for i := range 20000 {
		buf.Write(g.Event(i))
		buf.WriteByte('\n')
	}
	in := buf.Bytes()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		a, err := New("audit")
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Run(bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
		if r := a.Report(); r.EventsIn != 20000 {
			b.Fatalf("%d events", r.EventsIn)
		}
	}
}
