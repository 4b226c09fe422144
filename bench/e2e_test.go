package bench

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/auditship/auditship/internal/gen"
)

// benchConfig is bench/bench.yaml, found from this file so the test runs from any directory.
func benchConfig(tb testing.TB) string { return benchFile("bench.yaml") }

func benchFile(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), name)
}

// BenchmarkEndToEnd: bytes/s and ns/event of bench.yaml's pipeline over 20,000 generator
// events (about 60 MB), file to file. -cpuprofile on this is the profile of the agent.
func BenchmarkEndToEnd(b *testing.B) { benchEndToEnd(b, benchConfig(b), "out.ndjson") }

// BenchmarkEndToEndObjectStore: the same with the object-store output (file://, zstd).
func BenchmarkEndToEndObjectStore(b *testing.B) {
	benchEndToEnd(b, benchFile("bench-objectstore.yaml"), "archive")
}

// benchInput runs the end-to-end benchmarks over an existing audit log instead of
// generating one, e.g. `-input ../bench-out/audit.log -benchtime 1x -cpuprofile cpu.prof`
// for the profile of one run over the input bench/run.sh times.
var benchInput = flag.String("input", "", "audit log for the end-to-end benchmarks (default: 20,000 generated events)")

func benchEndToEnd(b *testing.B, cfg, out string) {
	in := *benchInput
	if in != "" {
		var err error
		if in, err = filepath.Abs(in); err != nil {
			b.Fatal(err)
		}
	}
	b.Chdir(b.TempDir())
	var size int64
	var events int
	if in == "" {
		f, err := os.OpenFile("audit.log", os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		events = 20000
		if size, err = gen.New(1).WriteEvents(f, events); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	} else {
		data, err := os.ReadFile(in)
		if err != nil {
			b.Fatal(err)
		}
		size, events = int64(len(data)), bytes.Count(data, []byte("\n"))
		if err := os.WriteFile("audit.log", data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	// The input is generated once, outside the measured sub-benchmark, so that a
	// -cpuprofile of this benchmark is the agent's alone and not the generator's.
	b.Run("run", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if err := os.RemoveAll("state"); err != nil {
				b.Fatal(err)
			}
			if err := os.RemoveAll(out); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := RunOnce(context.Background(), cfg); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
		if _, err := os.Stat(out); err != nil {
			b.Fatalf("no output written: %v", err)
		}
	})
}
