package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/zstd"

	"github.com/auditship/auditship/internal/testing/estest"
	"github.com/auditship/auditship/internal/testing/kube"
	"github.com/auditship/auditship/internal/testing/miniotest"
)

const esIndex = "k8s-audit-e2e"

// TestFileBackendThroughRotationAndKills is the production path end to end: the agent
// follows --audit-log-path while kube-apiserver rotates it every 1 MB (rename, then gzip)
// and is SIGKILLed and restarted three times mid-traffic. Every event the API server
// wrote (its own files, gzipped backups included, are the ground truth) must reach the
// file output, S3 on MinIO and Elasticsearch, and nothing else; and no secret value the
// traffic planted or received may appear in any of them in any form.
func TestFileBackendThroughRotationAndKills(t *testing.T) {
	c := kube.Start(t, kube.Options{})
	minio := miniotest.Start(t)
	minio.CreateBucket(t, "audit")
	es, err := estest.Start(estest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(es.Close)

	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	cfg := fmt.Sprintf(`data_dir: %s
inputs:
  apiserver:
    type: file
    paths: [%q]
    format: audit
    start_at: beginning
    poll_interval: 200ms
filters:
  - type: redact
    name: secrets
    preset: kubernetes-secrets
outputs:
  file:
    type: file
    path: %s
  archive:
    type: object_store
    url: s3://audit/e2e/
    endpoint: %s
    region: us-east-1
    force_path_style: true
    max_object_age: 1s
  siem:
    type: elasticsearch
    addresses: [%q]
    index: %s
    flush_interval: 100ms
`, filepath.Join(dir, "state"), c.AuditLog, out, minio.Endpoint, es.URL, esIndex)
	a := startAgent(t, cfg,
		"AWS_ACCESS_KEY_ID="+minio.AccessKey,
		"AWS_SECRET_ACCESS_KEY="+minio.SecretKey,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	)

	// Traffic runs until the agent was killed three times, the API server rotated its log
	// at least twice, and at least eight rounds were sent.
	d := kube.NewDriver(c, "file-backend")
	ctx := context.Background()
	var (
		mu    sync.Mutex
		kills int
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		shipped := 0
		for k := 0; k < 3; k++ {
			// Kill only while the agent is making progress: the kill lands mid-stream.
			if !waitUntil(t, "the agent to ship more", 5*time.Minute, func() bool { return len(readNDJSON(out)) > shipped+200 }) {
				return
			}
			if err := a.killAndRestart(); err != nil {
				t.Error(err)
				return
			}
			shipped = len(readNDJSON(out))
			mu.Lock()
			kills++
			mu.Unlock()
		}
	}()
	rounds := 0
	for {
		files, err := c.AuditFiles()
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		k := kills
		mu.Unlock()
		if rounds >= 8 && len(files) >= 3 && k == 3 {
			break
		}
		select {
		case <-done:
			if k < 3 {
				t.Fatalf("the kill loop ended after %d kills", k)
			}
		default:
		}
		if rounds >= 60 {
			t.Fatalf("after %d rounds: %d audit files, %d kills", rounds, len(files), k)
		}
		if err := d.Round(ctx, fmt.Sprintf("shop-%02d", rounds)); err != nil {
			t.Fatalf("round %d: %v", rounds, err)
		}
		rounds++
	}
	<-done
	// Stopping the API server fixes the ground truth: its own controllers write events
	// as long as it runs.
	c.Stop()
	truthLines, files := groundTruth(t, c)
	truth := countKeys(t, "API server", truthLines)
	gz := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".gz") {
			gz++
		}
	}
	t.Logf("%d rounds; the API server wrote %d events (%d bytes) into %d files (%d gzipped backups); agent SIGKILLed %d times",
		rounds, len(truth), len(joinLines(truthLines)), len(files), gz, a.kills)
	if len(files) < 3 || gz < 1 {
		t.Errorf("%d backups, %d gzipped: the test must cross rotations and compression", len(files)-1, gz)
	}

	waitUntil(t, "the file output to hold every event", 3*time.Minute, func() bool {
		got := countKeys(t, "file output", readNDJSON(out))
		return len(compare("file", truth, got).missing) == 0
	})
	waitUntil(t, "Elasticsearch to hold every event", 2*time.Minute, func() bool {
		return len(es.Docs(esIndex)) >= len(truth)
	})
	a.stop() // SIGTERM: the open object is uploaded
	fileLines := readNDJSON(out)
	fd := compare("file", truth, countKeys(t, "file output", fileLines))
	fd.check(t)
	logDuplicatesBySource(t, files, fd)
	var esLines [][]byte
	for _, src := range es.Docs(esIndex) {
		esLines = append(esLines, src)
	}
	esd := compare("elasticsearch", truth, countKeys(t, "elasticsearch", esLines))
	esd.check(t)
	s3Lines := s3Events(t, minio, "audit")
	compare("s3", truth, countKeys(t, "s3", s3Lines)).check(t)

	forms := d.LeakForms()
	checkNoLeaks(t, forms, joinLines(truthLines), map[string][][]byte{"file output": fileLines, "elasticsearch": esLines, "s3": s3Lines})
}

// s3Events returns the events in every object of the bucket, decompressed.
func s3Events(t *testing.T, m *miniotest.Server, bucket string) [][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := m.Client()
	var lines [][]byte
	p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list s3://%s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			obj, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				t.Fatalf("get %s: %v", *o.Key, err)
			}
			raw, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil {
				t.Fatalf("read %s: %v", *o.Key, err)
			}
			var plain []byte
			switch {
			case strings.HasSuffix(*o.Key, ".gz"):
				zr, err := gzip.NewReader(bytes.NewReader(raw))
				if err == nil {
					plain, err = io.ReadAll(zr)
				}
				if err != nil {
					t.Fatalf("gunzip %s: %v", *o.Key, err)
				}
			case strings.HasSuffix(*o.Key, ".zst"):
				zr, err := zstd.NewReader(bytes.NewReader(raw))
				if err == nil {
					plain, err = io.ReadAll(zr)
					zr.Close()
				}
				if err != nil {
					t.Fatalf("unzstd %s: %v", *o.Key, err)
				}
			default:
				plain = raw
			}
			for _, l := range bytes.Split(plain, []byte("\n")) {
				if len(l) > 0 {
					lines = append(lines, l)
				}
			}
		}
	}
	return lines
}

// logDuplicatesBySource says which of the API server's files the events shipped more than
// once came from, and how many copies there were: a whole backup read again after a
// restart shows as one file's events shipped once per agent run.
func logDuplicatesBySource(t *testing.T, files []string, d delivery) {
	t.Helper()
	if len(d.duplicate) == 0 {
		return
	}
	source := map[string]string{}
	for _, f := range files {
		lines, err := kube.ReadLines([]string{f})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if k, err := eventKey(l); err == nil {
				source[k] = filepath.Base(f)
			}
		}
	}
	perFile := map[string]int{}
	for _, k := range d.duplicate {
		perFile[source[k]]++
	}
	t.Logf("%s: events shipped more than once, by the file they were written to: %v (%d copies of them in all)",
		d.output, perFile, d.copies)
}
