package safefile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/auditship/auditship/internal/fsfault"
)

// faultyFile is a real file whose next Write stops after writeOK bytes, or whose Sync or
// Truncate fails, on cue.
type faultyFile struct {
	*os.File
	writeOK      int // <0: writes succeed
	failSync     bool
	failTruncate int // how many Truncate calls fail
}

func (f *faultyFile) Write(p []byte) (int, error) {
	if f.writeOK >= 0 && len(p) > f.writeOK {
		n, _ := f.File.Write(p[:f.writeOK])
		return n, syscall.ENOSPC
	}
	return f.File.Write(p)
}

func (f *faultyFile) Sync() error {
	if f.failSync {
		return syscall.EIO
	}
	return f.File.Sync()
}

func (f *faultyFile) Truncate(n int64) error {
	if f.failTruncate > 0 {
		f.failTruncate--
		return syscall.EIO
	}
	return f.File.Truncate(n)
}

// TestAppenderWholeOrNothing: whatever fails part way, the file holds exactly the records
// appended successfully, each whole.
func TestAppenderWholeOrNothing(t *testing.T) {
	cases := []struct {
		name   string
		fault  func(f *faultyFile)
		sync   bool
		wantIs error
	}{
		{"short write", func(f *faultyFile) { f.writeOK = 7 }, true, syscall.ENOSPC},
		{"nothing written", func(f *faultyFile) { f.writeOK = 0 }, true, syscall.ENOSPC},
		{"short write without sync", func(f *faultyFile) { f.writeOK = 3 }, false, syscall.ENOSPC},
		{"fsync fails", func(f *faultyFile) { f.failSync = true }, true, syscall.EIO},
		{"short write and the cut back fails once", func(f *faultyFile) { f.writeOK = 5; f.failTruncate = 1 }, true, syscall.ENOSPC},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out")
			osf, err := OpenAppend(path)
			must(t, err)
			defer osf.Close()
			ff := &faultyFile{File: osf, writeOK: -1}
			a := &Appender{F: ff, Sync: c.sync}
			must(t, a.Append([]byte(`{"event":1}`+"\n")))

			c.fault(ff)
			err = a.Append([]byte(`{"event":2}` + "\n"))
			if !errors.Is(err, c.wantIs) {
				t.Fatalf("append error %v, want %v", err, c.wantIs)
			}
			want := `{"event":1}` + "\n"
			if ff.failTruncate == 0 && !strings.Contains(err.Error(), "cut back to") && !strings.Contains(err.Error(), "failed too") {
				t.Fatalf("error does not say what happened to the file: %v", err)
			}
			if got, _ := os.ReadFile(path); c.name != "short write and the cut back fails once" && string(got) != want {
				t.Fatalf("after the failed append the file holds %q, want %q", got, want)
			}

			*ff = faultyFile{File: osf, writeOK: -1}
			must(t, a.Append([]byte(`{"event":2}`+"\n")))
			want += `{"event":2}` + "\n"
			if got, _ := os.ReadFile(path); string(got) != want {
				t.Fatalf("after the retry the file holds %q, want %q", got, want)
			}
		})
	}
}

// TestAppenderFileEmptiedMeanwhile: a cut back never extends a file someone emptied.
func TestAppenderFileEmptiedMeanwhile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out")
	osf, err := OpenAppend(path)
	must(t, err)
	defer osf.Close()
	a := &Appender{F: &emptyingFile{File: osf}}
	if _, err := osf.Write(bytes.Repeat([]byte("x"), 100)); err != nil {
		t.Fatal(err)
	}
	if err := a.Append([]byte("abc\n")); err == nil {
		t.Fatal("append succeeded")
	}
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Fatalf("file is %d bytes, want 0 (not extended)", fi.Size())
	}
}

// emptyingFile empties the file (as an operator's truncate would) and then fails the write.
type emptyingFile struct{ *os.File }

func (f *emptyingFile) Write(p []byte) (int, error) {
	_ = f.File.Truncate(0)
	return 0, syscall.ENOSPC
}

func (f *emptyingFile) Stat() (fs.FileInfo, error) { return f.File.Stat() }

// TestAppenderFullDisk fills a small tmpfs (root only): every line in the file is whole
// and every append reported successful is there.
func TestAppenderFullDisk(t *testing.T) {
	dir := fsfault.Mount(t, 64<<10)
	path := filepath.Join(dir, "out.ndjson")
	f, err := OpenAppend(path)
	must(t, err)
	defer f.Close()
	a := &Appender{F: f, Sync: true}
	line := append(bytes.Repeat([]byte("a"), 3000), '\n')
	ok, failed := 0, 0
	for i := 0; i < 60; i++ {
		if err := a.Append(line); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("append %d: %v", i, err)
			}
			failed++
			continue
		}
		ok++
	}
	if failed == 0 {
		t.Fatal("the tmpfs never filled")
	}
	got, err := os.ReadFile(path)
	must(t, err)
	if len(got) != ok*len(line) {
		t.Fatalf("file is %d bytes, want %d (%d whole lines)", len(got), ok*len(line), ok)
	}
}
