package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/auditship/auditship/internal/fsfault"
	"github.com/auditship/auditship/internal/safefile"
	"github.com/auditship/auditship/pipeline"
)

// batch returns events first..first+n-1, each padded to about size bytes.
func batch(t testing.TB, first, n, size int) pipeline.Batch {
	t.Helper()
	var b pipeline.Batch
	for i := first; i < first+n; i++ {
		raw := fmt.Sprintf(`{"auditID":"%08d","pad":%q}`, i, strings.Repeat("p", size))
		ev, err := pipeline.NewRawEvent([]byte(raw), pipeline.SourceAudit)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, ev)
	}
	return b
}

// lines checks every line of path is a whole JSON object and returns their auditIDs.
func lines(t testing.TB, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("%s ends in a partial line", path)
	}
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var ev struct{ AuditID string }
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%s line %d is not a JSON object: %v", path, n, err)
		}
		ids = append(ids, ev.AuditID)
	}
	return ids
}

func wantIDs(t testing.TB, got []string, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("file holds %d events, want %d", len(got), n)
	}
	for i, id := range got {
		if id != fmt.Sprintf("%08d", i) {
			t.Fatalf("event %d is %s: events repeated or out of order", i, id)
		}
	}
}

// TestFullDiskWholeBatches (issue 20 kind 2): on a full disk a batch fails whole, the
// file holds only whole lines of the batches reported written, readiness says so, and
// once space is freed the retried batch is written once.
func TestFullDiskWholeBatches(t *testing.T) {
	dir := fsfault.Mount(t, 256<<10)
	path := filepath.Join(dir, "out.ndjson")
	out, err := Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close(context.Background())
	ctx := context.Background()

	filler := filepath.Join(dir, "filler")
	fill, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	// Leave a little more than one page free.
	for {
		if _, err := fill.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	fill.Close()
	if err := os.Truncate(filler, mustSize(t, filler)-6000); err != nil {
		t.Fatal(err)
	}

	shipped := 0
	var failed pipeline.Batch
	for i := 0; i < 20 && failed == nil; i++ {
		b := batch(t, shipped, 10, 100)
		if err := out.Write(ctx, b); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("write: %v", err)
			}
			failed = b
			break
		}
		shipped += len(b)
	}
	if failed == nil {
		t.Fatal("the disk never filled")
	}
	wantIDs(t, lines(t, path), shipped)
	if err := out.Ready(ctx); err == nil {
		t.Fatal("ready while the output cannot write")
	}
	// The engine retries the same batch: it still fails, and leaves nothing behind.
	if err := out.Write(ctx, failed); err == nil {
		t.Fatal("retry on a full disk succeeded")
	}
	wantIDs(t, lines(t, path), shipped)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := out.Write(ctx, failed); err != nil {
		t.Fatalf("retry after freeing space: %v", err)
	}
	wantIDs(t, lines(t, path), shipped+len(failed))
	if err := out.Ready(ctx); err != nil {
		t.Fatalf("not ready after a write succeeded: %v", err)
	}
}

func mustSize(t testing.TB, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// failingFile fails its next write after half the bytes, or its fsync.
type failingFile struct {
	*os.File
	failWrite, failSync bool
}

func (f *failingFile) Write(p []byte) (int, error) {
	if f.failWrite {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, syscall.EIO
	}
	return f.File.Write(p)
}

func (f *failingFile) Sync() error {
	if f.failSync {
		return syscall.EIO
	}
	return f.File.Sync()
}

// TestInjectedWriteFailure (issue 20 kind 2, without root): a write or an fsync that
// fails leaves the file as it was and the batch unacknowledged.
func TestInjectedWriteFailure(t *testing.T) {
	for _, c := range []struct {
		name string
		ff   failingFile
	}{
		{"write fails half way", failingFile{failWrite: true}},
		{"fsync fails", failingFile{failSync: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.ndjson")
			out, err := Open(path, true)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close(context.Background())
			ctx := context.Background()
			if err := out.Write(ctx, batch(t, 0, 5, 50)); err != nil {
				t.Fatal(err)
			}
			ff := c.ff
			ff.File = out.f
			out.app.F = &ff
			if err := out.Write(ctx, batch(t, 5, 5, 50)); !errors.Is(err, syscall.EIO) {
				t.Fatalf("write error %v, want EIO", err)
			}
			wantIDs(t, lines(t, path), 5)
			if out.Ready(ctx) == nil {
				t.Fatal("ready after a failed write")
			}
			ff.failWrite, ff.failSync = false, false
			if err := out.Write(ctx, batch(t, 5, 5, 50)); err != nil {
				t.Fatal(err)
			}
			wantIDs(t, lines(t, path), 10)
		})
	}
}

// TestFollowsPath (issue 20 kind 9): when the file is deleted, renamed away or replaced,
// the next batch goes to a new file at the path; a symlink put there is refused.
func TestFollowsPath(t *testing.T) {
	cases := []struct {
		name     string
		change   func(t *testing.T, path string)
		wantNew  int  // events in the file at path after the second batch
		wantFail bool // the second batch is refused
	}{
		{"deleted", func(t *testing.T, path string) { mustDo(t, os.Remove(path)) }, 5, false},
		{"renamed away", func(t *testing.T, path string) { mustDo(t, os.Rename(path, path+".1")) }, 5, false},
		{"replaced by a new file", func(t *testing.T, path string) {
			mustDo(t, os.Rename(path, path+".1"))
			mustDo(t, os.WriteFile(path, nil, 0o600))
		}, 5, false},
		{"replaced by a symlink", func(t *testing.T, path string) {
			mustDo(t, os.Remove(path))
			mustDo(t, os.Symlink(filepath.Join(filepath.Dir(path), "victim"), path))
		}, 0, true},
		{"its directory removed", func(t *testing.T, path string) { mustDo(t, os.RemoveAll(filepath.Dir(path))) }, 5, false},
		{"replaced by a directory", func(t *testing.T, path string) {
			mustDo(t, os.Remove(path))
			mustDo(t, os.Mkdir(path, 0o700))
		}, 0, true},
		{"unchanged", func(t *testing.T, path string) {}, 10, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			path := filepath.Join(dir, "out.ndjson")
			out, err := Open(path, true)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close(context.Background())
			ctx := context.Background()
			mustDo(t, out.Write(ctx, batch(t, 0, 5, 10)))
			c.change(t, path)
			err = out.Write(ctx, batch(t, 5, 5, 10))
			if c.wantFail {
				if err == nil {
					t.Fatal("wrote where the path no longer names a regular file")
				}
				if strings.Contains(c.name, "symlink") && !errors.Is(err, safefile.ErrSymlink) {
					t.Fatalf("write through a symlink: %v", err)
				}
				if out.Ready(ctx) == nil {
					t.Fatal("ready while the path is a symlink")
				}
				if _, err := os.Stat(filepath.Join(dir, "victim")); err == nil {
					t.Fatal("the symlink's target was created")
				}
				return
			}
			mustDo(t, err)
			got := lines(t, path)
			if len(got) != c.wantNew {
				t.Fatalf("file at path holds %d events, want %d", len(got), c.wantNew)
			}
		})
	}
}

// TestOpenRefusesForeignFiles (issue 21 kind 1): the output does not write through a
// symlink, and sets an existing own file to 0600.
func TestOpenRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "link.ndjson")
	victim := fsfault.PlantSymlink(t, dir, link)
	if _, err := Open(link, true); !errors.Is(err, safefile.ErrSymlink) {
		t.Fatalf("open through a symlink: %v", err)
	}
	victim.Untouched(t)
	wide := filepath.Join(dir, "wide.ndjson")
	mustDo(t, os.WriteFile(wide, nil, 0o644))
	out, err := Open(wide, true)
	mustDo(t, err)
	out.Close(context.Background())
	if fi, _ := os.Stat(wide); fi.Mode().Perm() != 0o600 {
		t.Fatalf("existing file left at %v", fi.Mode().Perm())
	}
}

func mustDo(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
