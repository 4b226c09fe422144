package miniotest

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestBinaryPathIsKeyedByVersion(t *testing.T) {
	t.Setenv(BinEnv, "")
	p, err := BinaryPath()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p, "minio-"+Version) {
		t.Errorf("BinaryPath() = %q, want it keyed by version %s", p, Version)
	}
	t.Setenv(BinEnv, "/opt/minio")
	if p, _ := BinaryPath(); p != "/opt/minio" {
		t.Errorf("BinaryPath() with %s = %q, want /opt/minio", BinEnv, p)
	}
}

func TestInstallRejectsMissingOverride(t *testing.T) {
	t.Setenv(BinEnv, t.TempDir()+"/nope")
	if _, err := Find(); err == nil || !strings.Contains(err.Error(), BinEnv) {
		t.Errorf("Install() error = %v, want one naming %s", err, BinEnv)
	}
}

// TestServerSurvivesKillAndRestart checks what the outage tests rely on: objects written
// before a SIGKILL are served again after a restart on the same address.
func TestServerSurvivesKillAndRestart(t *testing.T) {
	s := Start(t)
	s.CreateBucket(t, "bkt")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := s.Client()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatalf("put: %v", err)
	}
	s.Kill()
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("bkt")}); err == nil {
		t.Fatal("HeadBucket succeeded against a killed server")
	}
	s.Restart()
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("get after restart: %v", err)
	}
	defer out.Body.Close()
	got, _ := io.ReadAll(out.Body)
	if !bytes.Equal(got, []byte("hello")) {
		t.Errorf("object after restart = %q, want hello", got)
	}
}
