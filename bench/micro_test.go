package bench

import (
	"encoding/json"
	"testing"

	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/pipeline"
)

const microEvents = 2000

func genLines(b *testing.B) ([][]byte, int64) {
	b.Helper()
	g := gen.New(1)
	lines := make([][]byte, microEvents)
	var size int64
	for i := range lines {
		lines[i] = g.Event(i)
		size += int64(len(lines[i]))
	}
	return lines, size
}

// BenchmarkDecode: the audit decoder (validation, lazy members) against encoding/json
// into a map, per event of the generator's mix.
func BenchmarkDecode(b *testing.B) {
	lines, size := genLines(b)
	d, err := decode.New("audit")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(size / microEvents)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := d.Decode(lines[i%microEvents]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(size / microEvents)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var m map[string]any
			if err := json.Unmarshal(lines[i%microEvents], &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// decoded returns the lines decoded as the agent decodes them (lazily).
func decoded(b *testing.B, lines [][]byte) []*pipeline.Event {
	b.Helper()
	d, _ := decode.New("audit")
	evs := make([]*pipeline.Event, 0, len(lines))
	for _, l := range lines {
		e, err := d.Decode(l)
		if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, e...)
	}
	return evs
}

// BenchmarkFilter: each filter of bench.yaml alone, per event, over freshly decoded events
// (as it would see them first in the chain; later in the chain it sees fewer).
func BenchmarkFilter(b *testing.B) {
	lines, size := genLines(b)
	for _, st := range benchChain(b) {
		b.Run(st.Name, func(b *testing.B) {
			b.SetBytes(size / microEvents)
			b.ReportAllocs()
			var evs []*pipeline.Event
			for i := 0; i < b.N; i++ {
				if i%microEvents == 0 {
					b.StopTimer()
					evs = decoded(b, lines)
					b.StartTimer()
				}
				if _, err := st.Filter.Apply(evs[i%microEvents]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode: writing the events bench.yaml keeps (as read, or spliced where the
// policy removed bodies), per kept event.
func BenchmarkEncode(b *testing.B) {
	lines, _ := genLines(b)
	chain := benchChain(b)
	var kept []*pipeline.Event
	for _, ev := range decoded(b, lines) {
		if chain.Keep(ev, pipeline.NopObserver{}) {
			kept = append(kept, ev)
		}
	}
	var size int64
	for _, ev := range kept {
		size += int64(ev.InBytes)
	}
	b.SetBytes(size / int64(len(kept)))
	b.ReportAllocs()
	b.ResetTimer()
	var buf []byte
	for i := 0; i < b.N; i++ {
		var err error
		if buf, err = kept[i%len(kept)].AppendJSON(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPerEvent: decode, the whole chain and encode of one event, single-threaded.
func BenchmarkPerEvent(b *testing.B) {
	lines, size := genLines(b)
	chain := benchChain(b)
	d, _ := decode.New("audit")
	b.SetBytes(size / microEvents)
	b.ReportAllocs()
	var buf []byte
	for i := 0; i < b.N; i++ {
		evs, err := d.Decode(lines[i%microEvents])
		if err != nil {
			b.Fatal(err)
		}
		for _, ev := range evs {
			if chain.Keep(ev, pipeline.NopObserver{}) {
				if buf, err = ev.AppendJSON(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
