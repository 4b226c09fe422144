package objectstore

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/testing/miniotest"
	"github.com/auditship/auditship/pipeline"
)

const testBucket = "archive"

func startMinIO(t testing.TB) *miniotest.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("MinIO integration test skipped in -short mode")
	}
	s := miniotest.Start(t)
	s.CreateBucket(t, testBucket)
	return s
}

func s3Config(s *miniotest.Server, prefix string) *Config {
	c := NewConfig()
	c.URL = "s3://" + testBucket + "/" + prefix
	c.Endpoint = s.Endpoint
	c.Region = miniotest.Region
	c.ForcePathStyle = true
	c.NodeName = "cp-1"
	return c
}

func newS3Output(t testing.TB, c *Config, accessKey, secretKey string) *Output {
	t.Helper()
	out, err := newOutput(c, config.Settings{Name: "archive"},
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")))
	if err != nil {
		t.Fatalf("newOutput: %v", err)
	}
	return out
}

// bucketObjects returns every object under prefix with its body.
func bucketObjects(ctx context.Context, c *s3.Client, prefix string) (map[string][]byte, error) {
	objs := map[string][]byte{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(testBucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			body, err := getObject(ctx, c, *o.Key)
			if err != nil {
				return nil, err
			}
			objs[*o.Key] = body
		}
	}
	return objs, nil
}

func getObject(ctx context.Context, c *s3.Client, key string) ([]byte, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

func TestMinIORoundTrip(t *testing.T) {
	s := startMinIO(t)
	lines := corpusLines(t)
	keyRE := regexp.MustCompile(`^(prod/[a-z]+/)(\d{4})/(\d{2})/(\d{2})/(\d{2})/cp-1-(\d{8}T\d{6}\.\d{3}Z)-[0-9a-f]{16}\.ndjson(\.gz|\.zst)?$`)
	ctx := context.Background()
	for _, comp := range []string{"gzip", "zstd", "none"} {
		t.Run(comp, func(t *testing.T) {
			prefix := "prod/" + comp + "/"
			c := s3Config(s, prefix)
			c.Compression = comp
			out := newS3Output(t, c, s.AccessKey, s.SecretKey)
			if err := out.Ready(ctx); err != nil {
				t.Fatalf("Ready: %v", err)
			}
			b := make(pipeline.Batch, len(lines))
			for i, l := range lines {
				b[i] = newEvent(t, l)
			}
			if err := out.Write(ctx, b); err != nil {
				t.Fatalf("Write: %v", err)
			}
			objs, err := bucketObjects(ctx, s.Client(), prefix)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(partition(b, time.Now())); len(objs) != want {
				t.Errorf("got %d objects, want %d (one per hour of event time)", len(objs), want)
			}
			var got []string
			for key, body := range objs {
				m := keyRE.FindStringSubmatch(key)
				if m == nil || !strings.HasSuffix(key, codecs[comp].ext) {
					t.Errorf("key %q does not follow PREFIX/YYYY/MM/DD/HH/NODE-<time>-<digest>%s", key, codecs[comp].ext)
					continue
				}
				objLines := decodeObject(t, key, body)
				for i, l := range objLines {
					ts, ok := eventTime(newEvent(t, l))
					if !ok {
						continue // no time of its own: filed under the hour it was shipped
					}
					if ts.Format("2006/01/02/15") != strings.Join(m[2:6], "/") {
						t.Errorf("%s holds an event of %v", key, ts)
					}
					if i == 0 && ts.Format("20060102T150405.000Z") != m[6] {
						t.Errorf("%s is not named by its first event's time %v", key, ts)
					}
				}
				got = append(got, objLines...)
				head, err := s.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
				if err != nil {
					t.Fatal(err)
				}
				if aws.ToString(head.ContentType) != contentType || aws.ToString(head.ContentEncoding) != codecs[comp].encoding {
					t.Errorf("%s: Content-Type %q, Content-Encoding %q; want %q, %q", key,
						aws.ToString(head.ContentType), aws.ToString(head.ContentEncoding), contentType, codecs[comp].encoding)
				}
			}
			if !slices.Equal(sorted(got), sorted(lines)) {
				t.Errorf("bucket holds %d events, want exactly the %d shipped", len(got), len(lines))
			}
		})
	}
}

func TestMinIOMultipartUpload(t *testing.T) {
	s := startMinIO(t)
	c := s3Config(s, "big/")
	c.Compression = "none"
	c.PartSize = minPartSize
	out := newS3Output(t, c, s.AccessKey, s.SecretKey)
	// ~6MB uncompressed in one hour: two parts. Large request bodies keep the event
	// count (and the test's decode time) small.
	pad := strings.Repeat("x", 8<<10)
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	b := make(pipeline.Batch, 700)
	for i := range b {
		line := strings.TrimSuffix(syntheticLine(i, start.Add(time.Duration(i)*time.Second)), "}")
		b[i] = newEvent(t, line+`,"requestObject":{"data":"`+pad+`"}}`)
	}
	ctx := context.Background()
	if err := out.Write(ctx, b); err != nil {
		t.Fatalf("Write: %v", err)
	}
	objs, err := bucketObjects(ctx, s.Client(), "big/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("got %d objects, want 1", len(objs))
	}
	for key, body := range objs {
		if len(body) <= minPartSize {
			t.Fatalf("object is %d bytes, the test needs more than one part", len(body))
		}
		head, err := s.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		// A multipart object's ETag is "<md5 of part md5s>-<parts>".
		if etag := aws.ToString(head.ETag); !strings.Contains(etag, "-") {
			t.Errorf("ETag %s is not a multipart ETag", etag)
		}
		if got := decodeObject(t, key, body); !slices.Equal(got, batchLines(t, b)) {
			t.Errorf("multipart object holds %d lines, want the %d shipped in order", len(got), len(b))
		}
	}
}

func TestMinIOServerSideEncryption(t *testing.T) {
	s := startMinIO(t)
	tests := []struct {
		sse, keyID string
		want       types.ServerSideEncryption
	}{
		{sseAES256, "", types.ServerSideEncryptionAes256},
		{sseKMS, miniotest.KMSKeyID, types.ServerSideEncryptionAwsKms},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.sse, func(t *testing.T) {
			prefix := "sse-" + strings.ReplaceAll(tt.sse, ":", "-") + "/"
			c := s3Config(s, prefix)
			c.ServerSideEncryption, c.SSEKMSKeyID = tt.sse, tt.keyID
			out := newS3Output(t, c, s.AccessKey, s.SecretKey)
			b := syntheticBatch(t, 0, 5, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), time.Second)
			if err := out.Write(ctx, b); err != nil {
				t.Fatalf("Write with %s: %v", tt.sse, err)
			}
			objs, err := bucketObjects(ctx, s.Client(), prefix)
			if err != nil || len(objs) != 1 {
				t.Fatalf("objects = %d, %v; want 1", len(objs), err)
			}
			for key, body := range objs {
				head, err := s.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
				if err != nil {
					t.Fatal(err)
				}
				if head.ServerSideEncryption != tt.want {
					t.Errorf("ServerSideEncryption = %q, want %q", head.ServerSideEncryption, tt.want)
				}
				if got := decodeObject(t, key, body); !slices.Equal(got, batchLines(t, b)) {
					t.Errorf("encrypted object does not read back as the shipped events")
				}
			}
		})
	}
}

// TestMinIODefaultCredentialChain goes through the factory, as the agent does, with the
// credentials in the standard AWS environment variables.
func TestMinIODefaultCredentialChain(t *testing.T) {
	s := startMinIO(t)
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/none")
	t.Setenv("AWS_ACCESS_KEY_ID", s.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.SecretKey)
	t.Setenv("AWS_REGION", miniotest.Region)
	c := s3Config(s, "env/")
	c.Region = ""
	o, _, err := NewFactory().Create(c, config.Settings{Name: "archive", NodeName: "cp-1"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	ctx := context.Background()
	if err := o.(pipeline.ReadyChecker).Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if err := o.Write(ctx, syntheticBatch(t, 0, 3, time.Now(), time.Millisecond)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if objs, err := bucketObjects(ctx, s.Client(), "env/"); err != nil || len(objs) == 0 {
		t.Errorf("objects = %d, %v; want the batch stored", len(objs), err)
	}

	c = s3Config(s, "")
	c.URL = "s3://no-such-bucket/"
	o, _, err = NewFactory().Create(c, config.Settings{Name: "archive"})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.(pipeline.ReadyChecker).Ready(ctx); err == nil || !strings.Contains(err.Error(), "bucket does not exist") {
		t.Errorf("Ready on a missing bucket = %v, want 'bucket does not exist'", err)
	}
}

// fakeInput serves fixed batches and records every ack.
type fakeInput struct {
	batches []pipeline.Batch
	// gate, when set, holds back batches from gateAt on until it is closed.
	gate   chan struct{}
	gateAt int
	onAck  func(i int, err error)

	mu   sync.Mutex
	next int
	acks map[int]error
}

func (f *fakeInput) Read(ctx context.Context) (pipeline.Batch, pipeline.AckFunc, error) {
	f.mu.Lock()
	i := f.next
	f.mu.Unlock()
	if i >= len(f.batches) {
		return nil, nil, pipeline.ErrEndOfInput
	}
	if f.gate != nil && i == f.gateAt {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	f.mu.Lock()
	f.next++
	f.mu.Unlock()
	return f.batches[i], func(err error) {
		f.mu.Lock()
		if _, dup := f.acks[i]; dup {
			panic(fmt.Sprintf("batch %d acked twice", i))
		}
		f.acks[i] = err
		f.mu.Unlock()
		if f.onAck != nil {
			f.onAck(i, err)
		}
	}, nil
}

func (f *fakeInput) Close() error { return nil }

// countingObserver signals output errors.
type countingObserver struct {
	pipeline.NopObserver
	errs chan struct{}
}

func (c *countingObserver) OutputError(string) { signal(c.errs) }

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// archiveView reads the bucket incrementally: objects are immutable once named, so each
// is fetched once.
type archiveView struct {
	client *s3.Client
	prefix string
	mu     sync.Mutex
	seen   map[string]bool
	ids    map[string]int // auditID -> copies in the bucket
}

func (v *archiveView) refresh(ctx context.Context, t testing.TB) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	p := s3.NewListObjectsV2Paginator(v.client, &s3.ListObjectsV2Input{Bucket: aws.String(testBucket), Prefix: aws.String(v.prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			if v.seen[*o.Key] {
				continue
			}
			body, err := getObject(ctx, v.client, *o.Key)
			if err != nil {
				return err
			}
			for _, l := range decodeObject(t, *o.Key, body) {
				id, _ := newEvent(t, l).Fields()["auditID"].(string)
				v.ids[id]++
			}
			v.seen[*o.Key] = true
		}
	}
	return nil
}

// has waits out an outage (the server may be down when asked) and reports whether every
// event of b is in the bucket.
func (v *archiveView) has(t testing.TB, b pipeline.Batch) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		err := v.refresh(ctx, t)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("read bucket: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, ev := range b {
		id, _ := ev.Fields()["auditID"].(string)
		if v.ids[id] == 0 {
			return fmt.Errorf("event %s acked but not in the bucket", id)
		}
	}
	return nil
}

// TestMinIOOutageLosesNothing runs the real engine while MinIO is SIGKILLed and restarted:
// every batch must be acked, only after its events are in the bucket, and none lost.
func TestMinIOOutageLosesNothing(t *testing.T) {
	s := startMinIO(t)
	const nBatches, perBatch = 40, 25
	batches := make([]pipeline.Batch, nBatches)
	start := time.Date(2026, 11, 20, 10, 45, 0, 0, time.UTC)
	for i := range batches {
		batches[i] = syntheticBatch(t, i*perBatch, perBatch, start.Add(time.Duration(i*perBatch)*time.Second), time.Second)
	}
	view := &archiveView{client: s.Client(), prefix: "outage/", seen: map[string]bool{}, ids: map[string]int{}}
	var (
		ackMu       sync.Mutex
		ackProblems []string
		firstAcks   = make(chan struct{})
		acked       int
	)
	in := &fakeInput{batches: batches, gate: make(chan struct{}), gateAt: 3, acks: map[int]error{}}
	in.onAck = func(i int, err error) {
		problem := ""
		if err != nil {
			problem = fmt.Sprintf("batch %d nacked: %v", i, err)
		} else if err := view.has(t, batches[i]); err != nil {
			problem = fmt.Sprintf("batch %d: %v", i, err)
		}
		ackMu.Lock()
		defer ackMu.Unlock()
		if problem != "" {
			ackProblems = append(ackProblems, problem)
		}
		acked++
		if acked == 3 {
			close(firstAcks)
		}
	}

	out := newS3Output(t, s3Config(s, "outage/"), s.AccessKey, s.SecretKey)
	opts := out.Options()
	// Small objects so that many uploads straddle the outage.
	opts.Batch.MaxBytes = 3 * batches[0].Bytes()
	opts.Batch.FlushInterval = 100 * time.Millisecond
	opts.RetryInitial, opts.RetryMax = 50*time.Millisecond, time.Second
	outage := make(chan struct{}, 1)
	obs := &countingObserver{errs: outage}
	eng := pipeline.New(pipeline.Config{
		Inputs:       []pipeline.InputSpec{{Name: "fake", Input: in}},
		Outputs:      []pipeline.OutputSpec{{Name: "archive", Output: out, Options: opts}},
		Observer:     obs,
		DrainTimeout: 3 * time.Minute,
	})
	done := make(chan error, 1)
	go func() { done <- eng.Run(context.Background(), true) }()

	// The first three batches are stored and acked; the rest are read only once the
	// server is gone, so their first uploads must fail.
	<-firstAcks
	s.Kill()
	close(in.gate)
	select {
	case <-outage:
	case err := <-done:
		t.Fatalf("engine finished during the outage: %v", err)
	}
	s.Restart()
	if err := <-done; err != nil {
		t.Fatalf("engine: %v", err)
	}

	for _, p := range ackProblems {
		t.Error(p)
	}
	if len(in.acks) != nBatches {
		t.Errorf("%d of %d batches acked", len(in.acks), nBatches)
	}
	if err := view.refresh(context.Background(), t); err != nil {
		t.Fatal(err)
	}
	dups := 0
	for i := range nBatches * perBatch {
		n := view.ids[fmt.Sprintf("id-%06d", i)]
		if n == 0 {
			t.Errorf("event id-%06d lost", i)
		}
		dups += max(0, n-1)
	}
	t.Logf("outage: %d events, %d objects, %d duplicate copies", nBatches*perBatch, len(view.seen), dups)
}

// TestMinIOWrongCredentials: a clear error, and the batch is never acked as delivered.
func TestMinIOWrongCredentials(t *testing.T) {
	s := startMinIO(t)
	c := s3Config(s, "badcreds/")
	out := newS3Output(t, c, s.AccessKey, "wrong-secret")
	ctx := context.Background()
	b := syntheticBatch(t, 0, 5, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), time.Second)
	err := out.Write(ctx, b)
	if err == nil || !strings.Contains(err.Error(), "access denied (check credentials") || !strings.Contains(err.Error(), testBucket+"/badcreds/") {
		t.Errorf("Write = %v, want 's3 put archive/badcreds/...: access denied (check credentials ...'", err)
	}
	if pipeline.IsPermanent(err) {
		t.Error("a credentials error must be retried (credentials may be rotated in), not dropped")
	}
	if err := out.Ready(ctx); err == nil || !strings.Contains(err.Error(), "access denied") {
		t.Errorf("Ready = %v, want access denied", err)
	}

	// Through the engine: retried until shutdown, then nacked, so the input keeps it.
	in := &fakeInput{batches: []pipeline.Batch{b}, acks: map[int]error{}}
	obs := &countingObserver{errs: make(chan struct{}, 1)}
	opts := out.Options()
	opts.Batch.FlushInterval = 10 * time.Millisecond
	opts.RetryInitial = 10 * time.Millisecond
	eng := pipeline.New(pipeline.Config{
		Inputs:       []pipeline.InputSpec{{Name: "fake", Input: in}},
		Outputs:      []pipeline.OutputSpec{{Name: "archive", Output: out, Options: opts}},
		Observer:     obs,
		DrainTimeout: time.Second,
	})
	done := make(chan error, 1)
	runCtx, shutdown := context.WithCancel(context.Background())
	defer shutdown()
	go func() { done <- eng.Run(runCtx, true) }()
	<-obs.errs
	<-obs.errs // a second failure: it was retried
	shutdown() // --once waits for delivery as long as it takes; a SIGTERM ends the wait
	if err := <-done; err == nil || !strings.Contains(err.Error(), "not delivered") {
		t.Fatalf("engine = %v, want an error saying batches were not delivered", err)
	}
	if ackErr, ok := in.acks[0]; !ok || ackErr == nil {
		t.Errorf("batch ack = %v (acked: %v), want an error so the input keeps the batch", ackErr, ok)
	}
	objs, err := bucketObjects(ctx, s.Client(), "badcreds/")
	if err != nil || len(objs) != 0 {
		t.Errorf("bucket holds %d objects (%v), want none", len(objs), err)
	}
}
