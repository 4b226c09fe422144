package objectstore

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/auditship/auditship/pipeline"
)

// benchBatch is about size bytes of real audit events in one hour, each copy of a corpus
// event given its own auditID and time so compression sees realistic repetition.
func benchBatch(b *testing.B, size int) pipeline.Batch {
	lines := corpusLines(b)
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var batch pipeline.Batch
	for i := 0; batch.Bytes() < size; i++ {
		var f map[string]any
		if err := json.Unmarshal([]byte(lines[i%len(lines)]), &f); err != nil {
			b.Fatal(err)
		}
		f["auditID"] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i*7919)
		f["requestReceivedTimestamp"] = start.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)
		raw, err := json.Marshal(f)
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, newEvent(b, string(raw)))
	}
	return batch
}

func benchWrite(b *testing.B, out pipeline.Output, batch pipeline.Batch) {
	ctx := context.Background()
	b.SetBytes(int64(batch.Bytes()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := out.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkObjectStoreFile reports MB/s of input written as objects to file://.
func BenchmarkObjectStoreFile(b *testing.B) {
	batch := benchBatch(b, 8<<20)
	for _, comp := range []string{"gzip", "zstd", "none"} {
		b.Run(comp, func(b *testing.B) {
			benchWrite(b, newFileOutput(b, b.TempDir(), comp), batch)
		})
	}
}

// BenchmarkObjectStoreMinIO reports MB/s of input uploaded as objects to a local MinIO.
func BenchmarkObjectStoreMinIO(b *testing.B) {
	s := startMinIO(b)
	batch := benchBatch(b, 8<<20)
	for _, comp := range []string{"gzip", "zstd", "none"} {
		b.Run(comp, func(b *testing.B) {
			c := s3Config(s, "bench/"+comp+"/")
			c.Compression = comp
			benchWrite(b, newS3Output(b, c, s.AccessKey, s.SecretKey), batch)
		})
	}
}
