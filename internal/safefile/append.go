package safefile

import (
	"fmt"
	"io"
	"io/fs"
)

// File is what an Appender writes to: an *os.File opened with OpenAppend, or a stand-in
// that fails on cue in a test.
type File interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
}

// Appender appends records to a file whole or not at all. A write or fsync that fails
// part way (ENOSPC after one page, EIO) leaves the file as it was before the append: the
// size is taken before writing and the file cut back to it. After a failed fsync the
// kernel may have dropped the written pages while keeping the file size (Linux marks
// them clean), so the appended bytes are cut as well rather than trusted.
//
// When the cut fails too, the Appender remembers the size and cuts back to it before the
// next append, so a torn tail is never followed by more records.
type Appender struct {
	F File
	// Sync fsyncs after each append; the append fails when the fsync does.
	Sync bool

	torn   int64 // size to cut back to before the next append, when isTorn
	isTorn bool
}

// Append writes p at the end of the file and, with Sync, fsyncs it. It returns nil only
// when all of p is in the file (and, with Sync, on disk); otherwise the file holds none of
// p and the error says why.
func (a *Appender) Append(p []byte) error {
	if a.isTorn {
		if err := a.cut(a.torn); err != nil {
			return fmt.Errorf("cut back a torn append to %d bytes: %w", a.torn, err)
		}
		a.isTorn = false
	}
	fi, err := a.F.Stat()
	if err != nil {
		return fmt.Errorf("stat before append: %w", err)
	}
	size := fi.Size()
	n, err := a.F.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err == nil && a.Sync {
		if err = a.F.Sync(); err != nil {
			err = fmt.Errorf("fsync: %w", err)
		}
	}
	if err == nil {
		return nil
	}
	if cerr := a.cut(size); cerr != nil {
		a.torn, a.isTorn = size, true
		return fmt.Errorf("append of %d bytes failed after %d (%w); cutting back to %d bytes failed too, retried before the next append: %v", len(p), n, err, size, cerr)
	}
	return fmt.Errorf("append of %d bytes failed after %d, file cut back to %d bytes: %w", len(p), n, size, err)
}

// cut truncates the file to size unless it is already no longer (the file may have been
// emptied by an operator meanwhile: it must not be extended with zeros).
func (a *Appender) cut(size int64) error {
	fi, err := a.F.Stat()
	if err != nil {
		return err
	}
	if fi.Size() <= size {
		return nil
	}
	if err := a.F.Truncate(size); err != nil {
		return err
	}
	if a.Sync {
		return a.F.Sync()
	}
	return nil
}
