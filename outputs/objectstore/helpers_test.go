package objectstore

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/auditship/auditship/internal/corpustest"
	"github.com/auditship/auditship/pipeline"
)

// newEvent decodes one audit JSON line the way an input would.
func newEvent(t testing.TB, line string) *pipeline.Event {
	t.Helper()
	var f map[string]any
	if err := json.Unmarshal([]byte(line), &f); err != nil {
		t.Fatalf("decode %q: %v", line, err)
	}
	return pipeline.NewEvent([]byte(line), f, pipeline.SourceAudit)
}

// syntheticLine is an audit event received at ts with a unique auditID.
func syntheticLine(id int, ts time.Time) string {
	return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-%06d","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"list","user":{"username":"system:admin"},"requestReceivedTimestamp":%q,"stageTimestamp":%q}`,
		id, ts.Format(time.RFC3339Nano), ts.Format(time.RFC3339Nano))
}

func syntheticBatch(t testing.TB, from, n int, start time.Time, step time.Duration) pipeline.Batch {
	b := make(pipeline.Batch, n)
	for i := range n {
		b[i] = newEvent(t, syntheticLine(from+i, start.Add(time.Duration(i)*step)))
	}
	return b
}

// corpusLines returns the real audit events (one JSON object a line) in the shared corpus,
// skipping the test when the corpus is not checked out beside the repo.
func corpusLines(t testing.TB) []string {
	t.Helper()
	root := corpustest.Dir(t, "audit-events")
	files := []string{
		filepath.Join(root, "audit2rbac", "demo.v1.log"),
		filepath.Join(root, "elastic-integrations", "test-audit.log"),
	}
	var lines []string
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			t.Skipf("shared audit corpus not available: %v", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "{") {
				lines = append(lines, l)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
	}
	if len(lines) == 0 {
		t.Skip("shared audit corpus has no events")
	}
	return lines
}

// decodeObject undoes the compression named by the key's suffix and splits the lines.
func decodeObject(t testing.TB, key string, body []byte) []string {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	switch {
	case strings.HasSuffix(key, ".ndjson.gz"):
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("%s: gunzip: %v", key, err)
		}
		r = zr
	case strings.HasSuffix(key, ".ndjson.zst"):
		zr, err := zstd.NewReader(r)
		if err != nil {
			t.Fatalf("%s: zstd: %v", key, err)
		}
		defer zr.Close()
		r = zr
	case strings.HasSuffix(key, ".ndjson"):
	default:
		t.Fatalf("%s: unexpected suffix", key)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: decompress: %v", key, err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatalf("%s: NDJSON must end with a newline", key)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func batchLines(t testing.TB, b pipeline.Batch) []string {
	t.Helper()
	out := make([]string, len(b))
	for i, ev := range b {
		j, err := ev.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(j)
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
