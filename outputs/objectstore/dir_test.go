package objectstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/fsfault"
	"github.com/auditship/auditship/pipeline"
)

// testOutput is the output behind the engine's dead-letter step (pipeline.DeadLetters),
// as the engine runs it without a dead_letter_path (object_store's default): what the
// output rejects for good is counted in metrics and dropped.
type testOutput struct {
	*Output
	metrics config.Metrics
}

func (o *testOutput) Write(ctx context.Context, b pipeline.Batch) error {
	dl := &pipeline.DeadLetters{Output: o.Output, Name: o.name, Observer: o.metrics}
	return dl.Write(ctx, b)
}

func newFileOutput(t testing.TB, dir, compression string) *testOutput {
	t.Helper()
	c := NewConfig()
	c.URL = "file://" + dir
	c.Compression = compression
	out, opts, err := NewFactory().Create(c, config.Settings{Name: "archive", NodeName: "cp-1"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if opts.Batch.MaxBytes != int(c.MaxObjectBytes) || opts.Batch.FlushInterval != c.MaxObjectAge {
		t.Fatalf("options = %+v, want batches closed at max_object_bytes/max_object_age", opts.Batch)
	}
	return &testOutput{Output: out.(*Output)}
}

// readTree returns every file under dir (relative, slash-separated) with its mode.
func readTree(t testing.TB, dir string) map[string]fs.FileMode {
	t.Helper()
	files := map[string]fs.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel != "." && fi.Mode().Perm() != 0o700 {
				t.Errorf("dir %s mode = %v, want 0700", rel, fi.Mode().Perm())
			}
			return nil
		}
		files[filepath.ToSlash(rel)] = fi.Mode().Perm()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestFileLayoutAndRoundTrip(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 58, 0, 0, time.UTC)
	keyRE := regexp.MustCompile(`^2026/11/20/(10|11)/cp-1-20261120T1[01]\d{4}\.\d{3}Z-[0-9a-f]{16}\.ndjson(\.gz|\.zst)?$`)
	for _, comp := range []string{"gzip", "zstd", "none"} {
		t.Run(comp, func(t *testing.T) {
			dir := t.TempDir()
			out := newFileOutput(t, dir, comp)
			// Four minutes across the hour boundary, one event every 10s.
			b := syntheticBatch(t, 0, 24, start, 10*time.Second)
			if err := out.Write(context.Background(), b); err != nil {
				t.Fatalf("Write: %v", err)
			}
			files := readTree(t, dir)
			if len(files) != 2 {
				t.Fatalf("got %d objects %v, want 2 (one per hour)", len(files), files)
			}
			var got []string
			for key, mode := range files {
				if !keyRE.MatchString(key) || !strings.HasSuffix(key, codecs[comp].ext) {
					t.Errorf("key %q does not follow the layout", key)
				}
				if mode != 0o600 {
					t.Errorf("%s mode = %v, want 0600", key, mode)
				}
				body, err := os.ReadFile(filepath.Join(dir, key))
				if err != nil {
					t.Fatal(err)
				}
				lines := decodeObject(t, key, body)
				hour := key[len("2026/11/20/") : len("2026/11/20/")+2]
				for _, l := range lines {
					if ts, _ := eventTime(newEvent(t, l)); ts.Format("15") != hour {
						t.Errorf("%s holds an event of hour %s", key, ts.Format("15"))
					}
				}
				got = append(got, lines...)
			}
			if want := batchLines(t, b); !slices.Equal(sorted(got), sorted(want)) {
				t.Errorf("objects hold %d events, want exactly the %d shipped", len(got), len(want))
			}
		})
	}
}

func TestFileRetryOverwritesInsteadOfDuplicating(t *testing.T) {
	for _, comp := range []string{"gzip", "zstd", "none"} {
		t.Run(comp, func(t *testing.T) {
			dir := t.TempDir()
			out := newFileOutput(t, dir, comp)
			b := syntheticBatch(t, 0, 10, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), time.Second)
			// The second write goes through the encoder the first one used.
			for range 2 {
				if err := out.Write(context.Background(), b); err != nil {
					t.Fatal(err)
				}
			}
			if files := readTree(t, dir); len(files) != 1 {
				t.Errorf("two writes of the same batch left %d objects %v, want 1", len(files), files)
			}
			other := syntheticBatch(t, 10, 10, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), time.Second)
			if err := out.Write(context.Background(), other); err != nil {
				t.Fatal(err)
			}
			if files := readTree(t, dir); len(files) != 2 {
				t.Errorf("a different batch with the same first time left %d objects, want 2", len(files))
			}
		})
	}
}

func TestKeyDigestIsSHA256OfObject(t *testing.T) {
	digestRE := regexp.MustCompile(`-([0-9a-f]{16})\.ndjson`)
	for _, comp := range []string{"gzip", "zstd", "none"} {
		t.Run(comp, func(t *testing.T) {
			dir := t.TempDir()
			out := newFileOutput(t, dir, comp)
			b := syntheticBatch(t, 0, 10, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), time.Second)
			if err := out.Write(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			for key := range readTree(t, dir) {
				body, err := os.ReadFile(filepath.Join(dir, key))
				if err != nil {
					t.Fatal(err)
				}
				// So that `sha256sum` of a downloaded object can be checked against its name.
				sum := sha256.Sum256(body)
				if m := digestRE.FindStringSubmatch(key); m == nil || m[1] != hex.EncodeToString(sum[:8]) {
					t.Errorf("key %s: digest is not the start of the object's SHA-256 %x", key, sum[:8])
				}
			}
		})
	}
}

func TestFileReady(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "archive")
	out := newFileOutput(t, dir, "gzip")
	if err := out.Ready(context.Background()); err != nil {
		t.Fatalf("Ready on a creatable dir: %v", err)
	}
	if files := readTree(t, dir); len(files) != 0 {
		t.Errorf("Ready left files behind: %v", files)
	}
	blocked := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := newFileOutput(t, filepath.Join(blocked, "sub"), "gzip")
	if err := bad.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), blocked) {
		t.Errorf("Ready under a regular file = %v, want an error naming it", err)
	}
	if err := bad.Write(context.Background(), syntheticBatch(t, 0, 1, time.Now(), 0)); err == nil {
		t.Error("Write under a regular file succeeded")
	}
}

// failingStore stores objects until failAt puts have been made, then fails.
type failingStore struct {
	puts   int
	failAt int
	keys   []string
	bodies [][]byte
}

func (f *failingStore) put(_ context.Context, key string, body []byte, _ codec) error {
	f.puts++
	if f.puts >= f.failAt {
		return errors.New("store down")
	}
	f.keys = append(f.keys, key)
	// The body is the encoder's buffer, reused once put returns.
	f.bodies = append(f.bodies, bytes.Clone(body))
	return nil
}
func (f *failingStore) ready(context.Context) error { return nil }
func (f *failingStore) String() string              { return "fake" }

func TestWritePartialFailureNamesOnlyUnstoredEvents(t *testing.T) {
	out := newFileOutput(t, t.TempDir(), "gzip")
	fs := &failingStore{failAt: 2}
	out.store = fs
	// Hours 10, 11, 10, 12: objects for 10 (stored), then 11 fails and 12 is not tried.
	b := pipeline.Batch{
		newEvent(t, syntheticLine(0, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))),
		newEvent(t, syntheticLine(1, time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC))),
		newEvent(t, syntheticLine(2, time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC))),
		newEvent(t, syntheticLine(3, time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))),
	}
	err := out.Write(context.Background(), b)
	var be *pipeline.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write = %v, want a *BatchError", err)
	}
	if len(be.Failed) != 2 || be.Failed[1] == nil || be.Failed[3] == nil {
		t.Errorf("failed items = %v, want exactly 1 and 3", be.Failed)
	}
	if fs.puts != 2 {
		t.Errorf("puts = %d, want 2 (stop after the first failure)", fs.puts)
	}

	all := &failingStore{failAt: 1}
	out.store = all
	if err := out.Write(context.Background(), b); err == nil || errors.As(err, &be) {
		t.Errorf("Write with the store down = %v, want a plain (whole-batch) error", err)
	}
}

func TestUnencodableEventIsCountedNotShipped(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	// Built from a map, an event fails before writing anything; read from bytes and then
	// given a value JSON cannot hold, it fails halfway through, after its first members.
	fromMap := pipeline.NewEvent(nil, map[string]any{"requestReceivedTimestamp": "2026-11-20T10:00:00Z", "x": make(chan int)}, pipeline.SourceAudit)
	fromBytes, err := pipeline.NewRawEvent([]byte(syntheticLine(99, at)), pipeline.SourceAudit)
	if err != nil {
		t.Fatal(err)
	}
	fromBytes.SetField("zz", make(chan int))
	for _, comp := range []string{"gzip", "zstd", "none"} {
		t.Run(comp, func(t *testing.T) {
			out := newFileOutput(t, t.TempDir(), comp)
			fs := &failingStore{failAt: 100}
			out.store = fs
			m := &countingMetrics{}
			out.metrics = m
			good := syntheticBatch(t, 0, 2, at, time.Second)
			// Between good events, so what the bad one left half-written must not remain.
			if err := out.Write(context.Background(), pipeline.Batch{fromMap, good[0], fromBytes, good[1]}); err != nil {
				t.Fatalf("Write = %v, want nil (the bad events are dead-lettered)", err)
			}
			if m.deadLettered != 2 || len(fs.keys) != 1 {
				t.Fatalf("dead-lettered %d, objects %d; want 2 and 1", m.deadLettered, len(fs.keys))
			}
			if got, want := decodeObject(t, fs.keys[0], fs.bodies[0]), batchLines(t, good); !slices.Equal(got, want) {
				t.Errorf("object holds %q, want exactly the good events %q", got, want)
			}
		})
	}
}

// TestUnencodableEventCountedOnceAcrossRetries: an upload that fails is retried whole, so
// the unencodable event in it is counted dead-lettered once, with the write that stored
// the rest, not at every attempt (the --once summary and shipped count rely on it).
func TestUnencodableEventCountedOnceAcrossRetries(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	bad := pipeline.NewEvent(nil, map[string]any{"requestReceivedTimestamp": "2026-11-20T10:00:00Z", "x": make(chan int)}, pipeline.SourceAudit)
	good := syntheticBatch(t, 0, 2, at, time.Second)
	b := pipeline.Batch{good[0], bad, good[1]}
	out := newFileOutput(t, t.TempDir(), "gzip")
	fs := &failingStore{failAt: 1}
	out.store = fs
	m := &countingMetrics{}
	out.metrics = m
	if err := out.Write(context.Background(), b); err == nil {
		t.Fatal("Write with the store down = nil")
	}
	if m.deadLettered != 0 {
		t.Fatalf("dead-lettered %d by a write that stored nothing", m.deadLettered)
	}
	fs.puts, fs.failAt = 0, 100
	if err := out.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if m.deadLettered != 1 || len(fs.keys) != 1 {
		t.Fatalf("dead-lettered %d, objects %d; want 1 and 1", m.deadLettered, len(fs.keys))
	}
}

type countingMetrics struct {
	config.NopMetrics
	deadLettered int
}

func (c *countingMetrics) OutputDeadLettered(_ string, n int) { c.deadLettered += n }

// TestFileStoreRefusesPlantedSymlinks (issue 21 kind 1): a symlink planted where a key's
// directory goes is refused, and nothing is written where it points.
func TestFileStoreRefusesPlantedSymlinks(t *testing.T) {
	b := syntheticBatch(t, 0, 10, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), time.Second)
	probe := t.TempDir()
	if err := newFileOutput(t, probe, "none").Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	var key string
	for k := range readTree(t, probe) {
		key = k
	}
	parts := strings.Split(key, "/")
	if len(parts) < 2 {
		t.Fatalf("key %q has no directory", key)
	}
	for level := 1; level < len(parts); level++ {
		t.Run(strings.Join(parts[:level], "/"), func(t *testing.T) {
			dir, elsewhere := t.TempDir(), t.TempDir()
			link := filepath.Join(dir, filepath.FromSlash(strings.Join(parts[:level], "/")))
			if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, link); err != nil {
				t.Fatal(err)
			}
			if err := newFileOutput(t, dir, "none").Write(context.Background(), b); err == nil {
				t.Fatal("write through a planted symlink succeeded")
			}
			if entries, _ := os.ReadDir(elsewhere); len(entries) > 0 {
				t.Fatalf("wrote %d entries where the symlink points", len(entries))
			}
		})
	}
}

// TestFileReadyOnFullDisk (issue 20 kind 9): a file:// store on a full disk is not ready
// (an empty probe file is still created there), and is ready again once space is freed.
func TestFileReadyOnFullDisk(t *testing.T) {
	dir := fsfault.Mount(t, 256<<10)
	out := newFileOutput(t, filepath.Join(dir, "archive"), "gzip")
	if err := out.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	fsfault.Fill(t, dir, 0)
	if err := out.Ready(context.Background()); err == nil {
		t.Fatal("ready on a full disk")
	}
	if err := os.Remove(filepath.Join(dir, ".fill")); err != nil {
		t.Fatal(err)
	}
	if err := out.Ready(context.Background()); err != nil {
		t.Fatalf("not ready after space was freed: %v", err)
	}
}
