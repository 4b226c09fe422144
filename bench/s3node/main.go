// Command s3node runs a MinIO server on 127.0.0.1 for bench/run.sh, so the object-store
// output can be measured through an outage of a real S3 endpoint. It uses the pinned
// MinIO that the integration tests build (internal/miniotest); it does not build it, so
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
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/zstd"

	"github.com/auditship/auditship/internal/miniotest"
)

// The credentials are for a throwaway server on 127.0.0.1; run.sh hands the same ones to
// the agent through AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
const (
	AccessKey = "auditship-bench"
	SecretKey = "auditship-bench-secret"
	bucket    = "audit"
	region    = "us-east-1"
)

type minio struct {
	bin, addr, data, logPath string
	cmd                      *exec.Cmd
	exited                   chan struct{}
}

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
		log.Printf("MinIO is not built at %s (go run ./internal/miniotest/cmd/install-minio builds it)", bin)
		os.Exit(2)
	}
	dir, err := os.MkdirTemp(*parent, "minio-")
	if err != nil {
		log.Fatalf("data directory: %v", err)
	}
	m := &minio{bin: bin, data: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "minio.log")}
	code := run(m, *outage)
	m.kill()
	if err := os.RemoveAll(dir); err != nil {
		log.Printf("remove %s: %v", dir, err)
	}
	os.Exit(code)
}

func run(m *minio, outage time.Duration) int {
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

	var err error
	for range 3 { // a port found free can be taken before MinIO binds it
		if m.addr, err = freeAddr(); err == nil {
			if err = m.start(); err == nil {
				break
			}
			m.kill()
		}
	}
	if err != nil {
		log.Printf("start MinIO: %v", err)
		return 1
	}
	client := s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String("http://" + m.addr),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		log.Printf("create bucket: %v", err)
		return 1
	}
	fmt.Println("http://" + m.addr)

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
func runOutage(ctx context.Context, m *minio, client *s3.Client, d time.Duration) error {
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
	m.kill()
	began := time.Now()
	log.Printf("outage: MinIO killed after the first object, down for %s", d)
	select {
	case <-time.After(d):
	case <-ctx.Done():
		log.Printf("stopped during the outage")
		return nil
	}
	var err error
	for range 5 { // the port was ours a moment ago; retry briefly should another take it
		if err = m.start(); err == nil {
			log.Printf("back after %s", time.Since(began).Round(time.Millisecond))
			return nil
		}
		m.kill()
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("restart MinIO: %w", err)
}

func (m *minio) start() error {
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open MinIO log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(m.bin, "server", "--quiet", "--address", m.addr,
		"--certs-dir", filepath.Join(filepath.Dir(m.data), "certs"), m.data)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+AccessKey,
		"MINIO_ROOT_PASSWORD="+SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_REGION="+region,
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", m.bin, err)
	}
	m.cmd, m.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(m.exited)
	return m.waitReady()
}

func (m *minio) waitReady() error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-m.exited:
			return fmt.Errorf("MinIO exited during startup (see %s)", m.logPath)
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := client.Get("http://" + m.addr + "/minio/health/ready")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
	return fmt.Errorf("MinIO at %s not ready after a minute", m.addr)
}

// kill stops MinIO with SIGKILL, as a crash would, and waits for it; the data stays.
func (m *minio) kill() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.exited
	m.cmd = nil
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

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
