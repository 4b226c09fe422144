// Command s3node runs a MinIO server on 127.0.0.1 for bench/run.sh, so the object-store
// output can be measured through an outage of a real S3 endpoint. It uses the pinned
// MinIO that the integration tests build (internal/testing/miniotest); it does not build it, so
// when the binary is missing it exits with status 2 and says so, and run.sh skips the
// row.
//
// It prints the S3 endpoint on its first line (bucket "audit", credentials in
// AccessKey/SecretKey below) and serves until its standard input closes. With -outage D
// it kills MinIO with SIGKILL as soon as the first object is stored (so the agent's next
// uploads meet refused connections, as when the store or the route to it goes away),
// keeps it down for D, and starts it again on the same address and data. At the end it
// reads every object back, counts the events in them and logs
// "s3node: N objects, M events", then stops MinIO and removes its data.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/zstd"

	"github.com/auditship/auditship/internal/testing/miniotest"
)

// The credentials are for a throwaway server on 127.0.0.1; run.sh hands the same ones to
// the agent through AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
const (
	AccessKey = "auditship-bench"
	SecretKey = "auditship-bench-secret"
	bucket    = "audit"
)

func main() {
	outage := flag.Duration("outage", 0, "kill MinIO when the first object is stored and keep it down this long (0: no outage)")
	parent := flag.String("dir", ".", "directory in which to make MinIO's (temporary) data directory and log")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("s3node: ")

	bin, err := miniotest.BinaryPath()
	if err != nil {
		log.Fatal(err)
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		log.Printf("MinIO is not built at %s (go run ./internal/toolcache/cmd/install-tools builds it)", bin)
		os.Exit(2)
	}
	dir, err := os.MkdirTemp(*parent, "minio-")
	if err != nil {
		log.Fatalf("data directory: %v", err)
	}
	code := run(bin, dir, *outage)
	if err := os.RemoveAll(dir); err != nil {
		log.Printf("remove %s: %v", dir, err)
	}
	os.Exit(code)
}

func run(bin, dir string, outage time.Duration) int {
	// SIGINT/SIGTERM (run.sh interrupted) and the end of stdin both stop MinIO, which must
	// not outlive the bench.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	done, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-stdinClosed:
			cancel()
		case <-done.Done():
		}
	}()

	m, err := miniotest.Launch(bin, dir, AccessKey, SecretKey)
	if m != nil {
		defer m.Kill()
	}
	if err != nil {
		log.Printf("start MinIO: %v", err)
		return 1
	}
	client := m.Client()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		log.Printf("create bucket: %v", err)
		return 1
	}
	fmt.Println(m.Endpoint)

	if outage > 0 {
		if err := runOutage(done, m, client, outage); err != nil {
			log.Print(err)
			return 1
		}
	}
	<-done.Done()
	if ctx.Err() != nil {
		return 1
	}
	objects, events, err := count(context.Background(), client)
	if err != nil {
		log.Printf("count events: %v", err)
		return 1
	}
	log.Printf("%d objects, %d events", objects, events)
	return 0
}

// runOutage polls the bucket until the first object is stored, kills MinIO, waits d and
// starts it again. Polling lets the first uploads through (one or two land before the
// kill); what matters for memory is that the agent then retries for d.
func runOutage(ctx context.Context, m *miniotest.Server, client *s3.Client, d time.Duration) error {
	for {
		out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(1)})
		if ctx.Err() != nil {
			log.Printf("no object came, so no outage")
			return nil
		}
		if err != nil {
			return fmt.Errorf("list objects: %w", err)
		}
		if len(out.Contents) > 0 {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
	m.Kill()
	began := time.Now()
	log.Printf("outage: MinIO killed after the first object, down for %s", d)
	select {
	case <-time.After(d):
	case <-ctx.Done():
		log.Printf("stopped during the outage")
		return nil
	}
	if err := m.Relaunch(); err != nil {
		return fmt.Errorf("restart MinIO: %w", err)
	}
	log.Printf("back after %s", time.Since(began).Round(time.Millisecond))
	return nil
}

// count reads every object back and counts its lines (events).
func count(ctx context.Context, client *s3.Client) (objects, events int, err error) {
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("list objects: %w", err)
		}
		for _, o := range page.Contents {
			n, err := countObject(ctx, client, aws.ToString(o.Key))
			if err != nil {
				return 0, 0, err
			}
			objects++
			events += n
		}
	}
	return objects, events, nil
}

func countObject(ctx context.Context, client *s3.Client, key string) (int, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	var r io.Reader = out.Body
	switch {
	case strings.HasSuffix(key, ".zst"):
		zr, err := zstd.NewReader(out.Body)
		if err != nil {
			return 0, fmt.Errorf("zstd %s: %w", key, err)
		}
		defer zr.Close()
		r = zr
	case strings.HasSuffix(key, ".gz"):
		zr, err := gzip.NewReader(out.Body)
		if err != nil {
			return 0, fmt.Errorf("gzip %s: %w", key, err)
		}
		defer zr.Close()
		r = zr
	}
	n := 0
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		line, err := br.ReadSlice('\n')
		if bytes.HasSuffix(line, []byte("\n")) {
			n++
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return 0, fmt.Errorf("read %s: %w", key, err)
		}
	}
}
