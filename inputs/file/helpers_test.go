package file

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// auditLine is one audit Event line with a unique auditID and some padding.
func auditLine(id string) string {
	return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":%q,"stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"list","user":{"username":"system:serviceaccount:kube-system:test"},"objectRef":{"resource":"pods","namespace":"default"},"responseStatus":{"code":200}}`+"\n", id)
}

func lines(prefix string, from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		b.WriteString(auditLine(fmt.Sprintf("%s-%06d", prefix, i)))
	}
	return b.String()
}

func ids(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s-%06d", prefix, i))
	}
	return out
}

func appendFile(t testing.TB, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// gzipAway compresses path to path.gz and removes path, as lumberjack's compressor does.
func gzipAway(t testing.TB, path string) {
	t.Helper()
	if err := gzipFile(path); err != nil {
		t.Fatal(err)
	}
}

func gzipFile(path string) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(path+".gz", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(dst)
	if _, err := io.Copy(zw, src); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return os.Remove(path)
}

// lumberjackName is the backup name lumberjack gives live at t.
func lumberjackName(live string, ts time.Time) string {
	ext := filepath.Ext(live)
	return live[:len(live)-len(ext)] + "-" + ts.UTC().Format(lumberjackTime) + ext
}

// copyTruncate copies live to dst, then truncates live, as logrotate's copytruncate does.
func copyTruncate(live, dst string) error {
	data, err := os.ReadFile(live)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		return err
	}
	return os.Truncate(live, 0)
}

// recMetrics records what the input reports.
type recMetrics struct {
	config.NopMetrics
	mu                                     sync.Mutex
	read, invalid, skipped, lostEv, bytesR int
	vanished                               int
	lostBytes, lag, nuls                   int64
}

func (m *recMetrics) InputEventsRead(_ string, n int)    { m.mu.Lock(); m.read += n; m.mu.Unlock() }
func (m *recMetrics) InputBytesRead(_ string, n int)     { m.mu.Lock(); m.bytesR += n; m.mu.Unlock() }
func (m *recMetrics) InputEventsInvalid(_ string, n int) { m.mu.Lock(); m.invalid += n; m.mu.Unlock() }
func (m *recMetrics) InputLinesSkipped(_ string, n int)  { m.mu.Lock(); m.skipped += n; m.mu.Unlock() }
func (m *recMetrics) InputEventsLost(_ string, n int)    { m.mu.Lock(); m.lostEv += n; m.mu.Unlock() }
func (m *recMetrics) InputBytesLost(_ string, n int64)   { m.mu.Lock(); m.lostBytes += n; m.mu.Unlock() }
func (m *recMetrics) InputFileVanished(string)           { m.mu.Lock(); m.vanished++; m.mu.Unlock() }
func (m *recMetrics) InputNULBytesSkipped(_ string, n int64) {
	m.mu.Lock()
	m.nuls += n
	m.mu.Unlock()
}
func (m *recMetrics) InputCheckpointLag(_ string, n int64) {
	m.mu.Lock()
	m.lag = n
	m.mu.Unlock()
}

func (m *recMetrics) get() recMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	return recMetrics{read: m.read, invalid: m.invalid, skipped: m.skipped, lostEv: m.lostEv, bytesR: m.bytesR, lostBytes: m.lostBytes, lag: m.lag, nuls: m.nuls, vanished: m.vanished}
}

func testConfig(paths ...string) *Config {
	c := NewConfig()
	c.Paths = paths
	c.PollInterval = 5 * time.Millisecond
	c.RescanInterval = 20 * time.Millisecond
	c.Watch = false
	return c
}

func newInput(t testing.TB, c *Config, dataDir string, once bool, m config.Metrics) *Input {
	t.Helper()
	if m == nil {
		m = config.NopMetrics{}
	}
	in, err := New(c, config.Settings{Name: "test", Logger: hclog.NewNullLogger(), DataDir: dataDir, Once: once, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func auditID(ev *pipeline.Event) string {
	s, _ := ev.Fields()["auditID"].(string)
	return s
}

// readAll reads a once-mode input to its end, acking every batch, and closes it.
func readAll(t testing.TB, in *Input) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []string
	for {
		b, ack, err := in.Read(ctx)
		if errors.Is(err, pipeline.ErrEndOfInput) {
			break
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		for _, ev := range b {
			got = append(got, auditID(ev))
		}
		ack(nil)
	}
	if err := in.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return got
}

// readN reads a following input until it returned n events, acking each batch.
func readN(t testing.TB, in *Input, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	for len(got) < n {
		b, ack, err := in.Read(ctx)
		if err != nil {
			t.Fatalf("read after %d of %d events: %v", len(got), n, err)
		}
		for _, ev := range b {
			got = append(got, auditID(ev))
		}
		ack(nil)
	}
	return got
}

// expectNothing asserts a following input has nothing more within a few polls.
func expectNothing(t testing.TB, in *Input) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	b, ack, err := in.Read(ctx)
	if err == nil {
		ack(nil)
		var got []string
		for _, ev := range b {
			got = append(got, auditID(ev))
		}
		t.Fatalf("expected nothing more, got %d events: %v", len(got), got)
	}
}

func equalIDs(t testing.TB, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d\n got: %v\nwant: %v", len(got), len(want), head(got), head(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("event %d: got %s, want %s", i, got[i], want[i])
		}
	}
}

func head(s []string) []string {
	if len(s) > 10 {
		return append(s[:10:10], "...")
	}
	return s
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func settings(dataDir string, once, reset bool) config.Settings {
	return config.Settings{Name: "test", Logger: hclog.NewNullLogger(), DataDir: dataDir, Once: once, ResetCorruptCheckpoints: reset, Metrics: config.NopMetrics{}}
}
