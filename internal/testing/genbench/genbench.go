// Package genbench benchmarks a filter over events of the realistic generator
// (internal/gen). It is apart from internal/gen so that the generator, which
// cmd/auditship-gen ships, does not link package testing.
package genbench

import (
	"runtime"
	"testing"

	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/pipeline"
)

// Run runs apply over fresh events of g b.N times, re-decoding (off the clock)
// whenever a batch was used up, since filters change the events they redact.
func Run(b *testing.B, g *gen.Generator, apply func(*pipeline.Event) (bool, error)) {
	const batch = 2000
	b.Helper()
	b.ReportAllocs()
	var evs []*pipeline.Event
	var size int64
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		if i%batch == 0 {
			b.StopTimer()
			var err error
			if evs, err = g.Decoded(0, batch); err != nil {
				b.Fatal(err)
			}
			if size == 0 {
				for _, e := range evs {
					size += int64(e.InBytes)
				}
			}
			// Collect the decoding garbage now, or the timed filter pays for it.
			runtime.GC()
			b.StartTimer()
		}
		if _, err := apply(evs[i%batch]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.SetBytes(size / batch)
}
