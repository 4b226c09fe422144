package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/gen"
)

// BenchmarkLoad is the load generator of issue 17: concurrent clients POST EventLists of
// 500 generator events (calibrated on kube-apiserver's shapes) over loopback HTTPS to the
// input, whose spool is on the test's temporary directory; the events are read back from
// the spool and acknowledged as they come, so segments are deleted as in production.
// b.N is the number of requests. It reports events/s, MB/s of request bodies, the p99
// answer latency, and CPU-s/GB (the whole process: the clients' TLS and JSON encoding are
// included, so the agent's own share is lower).
//
//	go test -run '^$' -bench BenchmarkLoad -benchtime 400x ./inputs/webhook
func BenchmarkLoad(b *testing.B) {
	const perRequest, clients, bodies = 500, 4, 8
	g := gen.New(17)
	var lists [][]byte
	for k := range bodies {
		var buf bytes.Buffer
		buf.WriteString(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[`)
		for i := range perRequest {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(g.Event(k*perRequest + i))
		}
		buf.WriteString(`]}`)
		lists = append(lists, buf.Bytes())
	}
	dir := b.TempDir()
	ca := newCA(b, "serving")
	crt, key := ca.issue(b, "auditship", x509.ExtKeyUsageServerAuth)
	c := NewConfig()
	c.Listen = "127.0.0.1:0"
	c.SpoolDir = filepath.Join(dir, "spool")
	c.TLS = TLS{CertFile: write(b, filepath.Join(dir, "tls.crt"), crt), KeyFile: write(b, filepath.Join(dir, "tls.key"), key)}
	in, err := New(c, config.Settings{Name: "load", DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var read atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			batch, ack, err := in.Read(ctx)
			if err != nil {
				return
			}
			read.Add(int64(len(batch)))
			ack(nil)
		}
	}()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.pem)
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: clients,
	}}
	url := "https://" + in.Addr().String() + "/audit?timeout=30s"
	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		sent      int64
	)
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				body := lists[i%bodies]
				t0 := time.Now()
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				d := time.Since(t0)
				if resp.StatusCode != http.StatusOK {
					b.Errorf("answer %d", resp.StatusCode)
					return
				}
				mu.Lock()
				latencies = append(latencies, d)
				sent += int64(len(body))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	answered := time.Since(start)
	want := int64(b.N) * perRequest
	for read.Load() < want && time.Since(start) < 10*time.Minute {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cancel()
	<-done
	cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()+ru1.Stime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	slices.Sort(latencies)
	p99 := latencies[len(latencies)*99/100]
	b.ReportMetric(float64(want)/answered.Seconds(), "events/s-answered")
	b.ReportMetric(float64(read.Load())/elapsed.Seconds(), "events/s-read")
	b.ReportMetric(float64(sent)/1e6/answered.Seconds(), "MB/s")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(cpu.Seconds()/(float64(sent)/1e9), "CPU-s/GB")
}
