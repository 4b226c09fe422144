package elasticsearch

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/testing/estest"
	fileout "github.com/auditship/auditship/outputs/file"
	"github.com/auditship/auditship/pipeline"
)

// serveEnv makes the test binary serve estest instead of running tests: benchmarks run
// the server in a child process so that the CPU they measure is the output's alone.
const serveEnv = "AUDITSHIP_ESTEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		s, err := estest.Start(estest.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(s.URL)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		s.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serverProcess starts estest in a child process and returns its URL.
func serverProcess(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("estest child: %v", err)
	}
	return strings.TrimSpace(line)
}

// cpuTime is the user+system CPU this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const benchBatch = 1000

// benchBatches is a pool of distinct batches; once it wraps, the writes are replays
// (409s), which cost the client the same.
func benchBatches(b *testing.B) []pipeline.Batch {
	all := auditEvents(b, 20*benchBatch)
	out := make([]pipeline.Batch, 0, 20)
	for i := 0; i < len(all); i += benchBatch {
		out = append(out, all[i:i+benchBatch])
	}
	return out
}

// runWrites writes b.N batches and reports events/s and this process's CPU per event.
func runWrites(b *testing.B, out pipeline.Output, batches []pipeline.Batch) {
	b.Helper()
	ctx := context.Background()
	bytesPerBatch := 0
	for _, ev := range batches[0] {
		bytesPerBatch += ev.InBytes
	}
	b.SetBytes(int64(bytesPerBatch))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, t0 := cpuTime(b), time.Now()
	for i := 0; i < b.N; i++ {
		if err := out.Write(ctx, batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
	}
	wall, cpu := time.Since(t0), cpuTime(b)-cpu0
	b.StopTimer()
	events := float64(b.N * benchBatch)
	b.ReportMetric(events/wall.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/events, "cpu-ns/event")
}

// BenchmarkElasticsearchOutput writes 1000-event batches to estest (in a child
// process) over HTTP.
func BenchmarkElasticsearchOutput(b *testing.B) {
	url := serverProcess(b)
	batches := benchBatches(b)
	for _, compression := range []string{"gzip", "none"} {
		b.Run(compression, func(b *testing.B) {
			out, _, _ := newTestOutput(b, url, func(c *Config) { c.Compression = compression })
			runWrites(b, out, batches)
		})
	}
}

// BenchmarkFileBaseline writes the same batches with the file output (fsync per batch,
// its default), the cheapest sink there is.
func BenchmarkFileBaseline(b *testing.B) {
	out, err := fileout.Open(filepath.Join(b.TempDir(), "out.ndjson"), true)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close(context.Background())
	runWrites(b, out, benchBatches(b))
}

// BenchmarkEncode is the output's own work per batch without the network: NDJSON with
// actions and ids, then gzip.
func BenchmarkEncode(b *testing.B) {
	p, err := parseIndexPattern(DefaultIndex)
	if err != nil {
		b.Fatal(err)
	}
	e := &encoder{pattern: p, now: time.Now}
	batch := benchBatches(b)[0]
	var body []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body, _, _ = e.encode(body[:0], batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/event")
}
