package bench

import (
	"context"
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

func benchEndToEnd(b *testing.B, cfg, out string) {
	const events = 20000
	dir := b.TempDir()
	b.Chdir(dir)
	f, err := os.OpenFile("audit.log", os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	size, err := gen.New(1).WriteEvents(f, events)
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
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
}
