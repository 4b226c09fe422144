package miniotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/auditship/auditship/internal/testing/freeport"
	"github.com/auditship/auditship/internal/toolcache"
)

const (
	// Region is what the server and its clients use.
	Region = "us-east-1"
	// KMSKeyID names MinIO's built-in static key, so SSE-S3 (AES256) and SSE-KMS requests
	// work without an external KMS.
	KMSKeyID = "auditship-test-key"

	readyTimeout = time.Minute
)

// Server is one MinIO process serving a temporary data directory on 127.0.0.1.
type Server struct {
	// Endpoint is the S3 API base URL, e.g. http://127.0.0.1:41234.
	Endpoint  string
	AccessKey string
	SecretKey string

	t       testing.TB
	bin     string
	addr    string
	dataDir string
	env     []string
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start starts a server from the installed MinIO (Find) that is stopped when the test
// ends. Without one the test is skipped, saying how to install it; it is never built
// from inside a test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Find()
	if err != nil {
		t.Skipf("MinIO test server unavailable: %v", err)
	}
	s, err := Launch(bin, t.TempDir(), "auditship-test", "auditship-test-secret")
	if s != nil {
		s.t = t
		t.Cleanup(func() {
			s.Kill()
			if t.Failed() {
				if b, err := os.ReadFile(s.logPath); err == nil {
					t.Logf("minio log:\n%s", tail(b, 4000))
				}
			}
		})
	}
	if err != nil {
		t.Fatalf("start minio: %v", err)
	}
	return s
}

// Launch starts MinIO from bin, with its data directory and log under dir and the given
// root credentials, on a free port of 127.0.0.1. It serves until Kill; Start is Launch
// for a test, and bench/s3node uses it outside one. On an error the returned server (if
// any) names the log.
func Launch(bin, dir, accessKey, secretKey string) (*Server, error) {
	s := &Server{
		bin:       bin,
		dataDir:   filepath.Join(dir, "data"),
		logPath:   filepath.Join(dir, "minio.log"),
		AccessKey: accessKey,
		SecretKey: secretKey,
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("kms key: %w", err)
	}
	s.env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_KMS_SECRET_KEY="+KMSKeyID+":"+base64.StdEncoding.EncodeToString(key),
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_REGION="+Region,
	)
	// A port found free can be taken before MinIO binds it: try a few.
	var lastErr error
	for range 3 {
		s.addr, lastErr = freeport.Addr()
		if lastErr != nil {
			continue
		}
		s.Endpoint = "http://" + s.addr
		if lastErr = s.start(); lastErr == nil {
			return s, nil
		}
		s.Kill()
	}
	return s, lastErr
}

// Kill stops the server with SIGKILL (as a crash would) and waits for it to exit. The
// data directory is kept, so Restart brings the same objects back.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// Restart starts the server again on the same address and data directory, failing the
// test if it cannot.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.Relaunch(); err != nil {
		s.t.Errorf("restart minio: %v", err)
	}
}

// Relaunch is Restart outside a test.
func (s *Server) Relaunch() error {
	s.Kill()
	// The port was ours a moment ago; another process grabbing it in between is unlikely
	// but possible, so retry briefly.
	var err error
	for range 5 {
		if err = s.start(); err == nil {
			return nil
		}
		s.Kill()
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

func (s *Server) start() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open minio log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, "server", "--quiet",
		"--address", s.addr,
		"--certs-dir", filepath.Join(filepath.Dir(s.dataDir), "certs"),
		s.dataDir)
	cmd.Env = s.env
	cmd.Stdout = logf
	cmd.Stderr = logf
	toolcache.SetParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	return s.waitReady(exited)
}

func (s *Server) waitReady(exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("minio exited during startup (see %s)", s.logPath)
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := client.Get(s.Endpoint + "/minio/health/ready")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
	return fmt.Errorf("minio at %s not ready after %s", s.addr, readyTimeout)
}

// Client returns an S3 client with the root credentials.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

// CreateBucket creates a bucket or fails the test.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	b = b[len(b)-n:]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}
