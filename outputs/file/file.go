// Package file holds the local outputs: NDJSON appended to a file (0600, fsynced before a
// batch is acknowledged, whole or not at all) and NDJSON to standard output.
package file

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/delivery"
	"github.com/auditship/auditship/internal/safefile"
	"github.com/auditship/auditship/pipeline"
)

// Config is the file output's configuration.
type Config struct {
	Path string `mapstructure:"path"`
	// Sync fsyncs after every batch before acknowledging it; turning it off trades
	// durability across power loss for speed.
	Sync          bool            `mapstructure:"sync"`
	BatchMaxBytes config.ByteSize `mapstructure:"batch_max_bytes"`
	FlushInterval time.Duration   `mapstructure:"flush_interval"`
	// DeadLetters is dead_letter_path: where events that cannot be encoded go; empty:
	// they are counted, logged and dropped.
	delivery.DeadLetters `mapstructure:",squash"`

	warnings []string
}

// Warnings implements config.Warner: a directory above the file that every user may write
// (no sticky bit), where anyone on the node can delete or replace the audit file.
func (c *Config) Warnings() []string { return c.warnings }

// Validate checks the config.
func (c *Config) Validate() error {
	var errs []error
	c.warnings = c.DeadLetters.Warnings()
	if c.Path == "" {
		errs = append(errs, errors.New("path: is required"))
	} else if w := safefile.ExposedDir(config.ResolvePath(c.Path)); w != "" {
		c.warnings = append(c.warnings, "path: "+w)
	}
	if c.BatchMaxBytes <= 0 {
		errs = append(errs, errors.New("batch_max_bytes: must be positive"))
	}
	if c.FlushInterval <= 0 {
		errs = append(errs, errors.New("flush_interval: must be positive"))
	}
	return errors.Join(errs...)
}

// NewFactory returns the `file` output factory.
func NewFactory() config.OutputFactory {
	return config.OutputFactory{
		Type: "file",
		NewConfig: func() any {
			return &Config{Sync: true, BatchMaxBytes: 4 << 20, FlushInterval: time.Second}
		},
		Create: func(cfg any, set config.Settings) (pipeline.Output, pipeline.OutputOptions, error) {
			c := cfg.(*Config)
			out, err := Open(config.ResolvePath(c.Path), c.Sync)
			if err != nil {
				return nil, pipeline.OutputOptions{}, err
			}
			if set.Logger != nil {
				out.log = set.Logger
			}
			opts := pipeline.DefaultOutputOptions()
			opts.Batch.MaxBytes = int(c.BatchMaxBytes)
			opts.Batch.FlushInterval = c.FlushInterval
			opts.Batch.MaxEvents = 1 << 20
			opts.DeadLetterPath = c.DeadLetters.PathFor(set, false)
			return out, opts, nil
		},
		Check: func(cfg any, _ config.Settings) error {
			return safefile.Check(config.ResolvePath(cfg.(*Config).Path))
		},
	}
}

// StdoutConfig has only dead_letter_path (see Config).
type StdoutConfig struct {
	delivery.DeadLetters `mapstructure:",squash"`
}

// Warnings implements config.Warner.
func (c *StdoutConfig) Warnings() []string { return c.DeadLetters.Warnings() }

// NewStdoutFactory returns the `stdout` output factory.
func NewStdoutFactory() config.OutputFactory {
	return config.OutputFactory{
		Type:      "stdout",
		NewConfig: func() any { return &StdoutConfig{} },
		Create: func(cfg any, set config.Settings) (pipeline.Output, pipeline.OutputOptions, error) {
			opts := pipeline.DefaultOutputOptions()
			opts.Batch.FlushInterval = 200 * time.Millisecond
			opts.DeadLetterPath = cfg.(*StdoutConfig).DeadLetters.PathFor(set, false)
			return NewWriter(os.Stdout), opts, nil
		},
	}
}

// Output appends NDJSON to a file. A batch is in the file whole or not at all: a write or
// fsync that fails part way (a full disk) is cut back, and the batch is retried. Before
// each batch it checks that the path still names the file it has open, and reopens it when
// the file was deleted or renamed away (logrotate without copytruncate), so events never
// go to a file no one can see.
type Output struct {
	mu       sync.Mutex
	path     string
	sync     bool
	log      hclog.Logger
	f        *os.File
	app      safefile.Appender
	buf      []byte
	writeErr error // why the last write failed; nil after one succeeded
}

// Open opens path for appending: created 0600 (missing parents 0700), or an existing
// regular file of the agent's user, set to 0600; a symlink is refused (internal/safefile).
func Open(path string, sync bool) (*Output, error) {
	o := &Output{path: path, sync: sync, log: hclog.NewNullLogger()}
	if err := o.open(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *Output) open() error {
	if err := safefile.MkdirAll(filepath.Dir(o.path)); err != nil {
		return fmt.Errorf("create directory for %s: %w", o.path, err)
	}
	f, err := safefile.OpenAppend(o.path)
	if err != nil {
		return err
	}
	// The Appender's memory of a torn tail belongs to the old file; a new one is whole.
	o.f, o.app = f, safefile.Appender{F: f, Sync: o.sync}
	return nil
}

// follow reopens the file when the path no longer names the open one (compared by device
// and inode). A path that names something else now, or nothing, gets a new file.
func (o *Output) follow() error {
	if o.f == nil {
		return fmt.Errorf("%s is closed", o.path)
	}
	pfi, err := os.Lstat(o.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stat %s: %w", o.path, err)
	}
	if err == nil {
		ffi, ferr := o.f.Stat()
		if ferr != nil {
			return fmt.Errorf("stat open %s: %w", o.path, ferr)
		}
		if os.SameFile(pfi, ffi) {
			return nil
		}
	}
	old := o.f
	if err := o.open(); err != nil {
		return fmt.Errorf("reopen %s (the open file was deleted or replaced): %w", o.path, err)
	}
	_ = old.Close()
	o.log.Info("the output file was deleted or replaced; writing to a new one", "path", o.path)
	return nil
}

// Write appends the batch, one event per line, and fsyncs before returning. On an error
// the file holds none of the batch. An event that cannot be encoded is left out and
// reported, in a *pipeline.BatchError, as rejected for good (the engine dead-letters it).
func (o *Output) Write(_ context.Context, b pipeline.Batch) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	buf, rejected := encodeLines(o.buf[:0], b)
	o.buf = buf
	if len(buf) == 0 {
		return rejected
	}
	if err := o.follow(); err != nil {
		o.writeErr = err
		return err
	}
	if err := o.app.Append(buf); err != nil {
		o.writeErr = fmt.Errorf("write %s: %w", o.path, err)
		return o.writeErr
	}
	o.writeErr = nil
	return rejected
}

// encodeLines appends b's events to buf as NDJSON. It leaves out those that cannot be
// encoded and returns them as a *pipeline.BatchError of rejections (nil when there are
// none).
func encodeLines(buf []byte, b pipeline.Batch) ([]byte, error) {
	var rejected map[int]error
	for i, ev := range b {
		n := len(buf)
		next, err := ev.AppendJSON(buf)
		if err != nil {
			buf = buf[:n] // what AppendJSON wrote after n is not a whole line
			if rejected == nil {
				rejected = map[int]error{}
			}
			rejected[i] = pipeline.Reject(pipeline.Rejection{ErrorType: "encode", Reason: err.Error()})
			continue
		}
		buf = append(next, '\n')
	}
	if rejected == nil {
		return buf, nil
	}
	return buf, &pipeline.BatchError{Failed: rejected}
}

// Ready reports whether the file is open and the last write succeeded: an output that
// cannot write (a full or read-only disk) is not ready until a write succeeds again.
func (o *Output) Ready(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return fmt.Errorf("%s is closed", o.path)
	}
	return o.writeErr
}

// Close closes the file.
func (o *Output) Close(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	return err
}

// Writer writes NDJSON to any stream (stdout).
type Writer struct {
	mu sync.Mutex
	w  *bufio.Writer
}

// NewWriter returns an output writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 256<<10)} }

// Write writes the batch and flushes.
func (o *Writer) Write(_ context.Context, b pipeline.Batch) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	buf, rejected := encodeLines(nil, b)
	if _, err := o.w.Write(buf); err != nil {
		return fmt.Errorf("write stdout: %w", err)
	}
	if err := o.w.Flush(); err != nil {
		return fmt.Errorf("flush stdout: %w", err)
	}
	return rejected
}

// Close flushes.
func (o *Writer) Close(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.w.Flush()
}
