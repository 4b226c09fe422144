// Package file holds the local outputs: NDJSON appended to a file (0600, fsynced before a
// batch is acknowledged) and NDJSON to standard output.
package file

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/auditship/auditship/internal/config"
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
}

// Validate checks the config.
func (c *Config) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("path: is required"))
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
			opts := pipeline.DefaultOutputOptions()
			opts.Batch.MaxBytes = int(c.BatchMaxBytes)
			opts.Batch.FlushInterval = c.FlushInterval
			opts.Batch.MaxEvents = 1 << 20
			return out, opts, nil
		},
	}
}

// StdoutConfig has no keys.
type StdoutConfig struct{}

// NewStdoutFactory returns the `stdout` output factory.
func NewStdoutFactory() config.OutputFactory {
	return config.OutputFactory{
		Type:      "stdout",
		NewConfig: func() any { return &StdoutConfig{} },
		Create: func(cfg any, set config.Settings) (pipeline.Output, pipeline.OutputOptions, error) {
			opts := pipeline.DefaultOutputOptions()
			opts.Batch.FlushInterval = 200 * time.Millisecond
			return NewWriter(os.Stdout), opts, nil
		},
	}
}

// Output appends NDJSON to a file.
type Output struct {
	mu   sync.Mutex
	f    *os.File
	path string
	sync bool
	buf  []byte
}

// Open opens (creating 0600, parents 0700) path for appending.
func Open(path string, sync bool) (*Output, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create directory for %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &Output{f: f, path: path, sync: sync}, nil
}

// Write appends the batch, one event per line, and fsyncs before returning.
func (o *Output) Write(_ context.Context, b pipeline.Batch) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	buf := o.buf[:0]
	var err error
	for _, ev := range b {
		if buf, err = ev.AppendJSON(buf); err != nil {
			return pipeline.Permanent(err)
		}
		buf = append(buf, '\n')
	}
	o.buf = buf
	if _, err := o.f.Write(buf); err != nil {
		return fmt.Errorf("write %s: %w", o.path, err)
	}
	if o.sync {
		if err := o.f.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", o.path, err)
		}
	}
	return nil
}

// Ready reports whether the file is still open.
func (o *Output) Ready(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return fmt.Errorf("%s is closed", o.path)
	}
	return nil
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
	var line []byte
	var err error
	for _, ev := range b {
		if line, err = ev.AppendJSON(line[:0]); err != nil {
			return pipeline.Permanent(err)
		}
		line = append(line, '\n')
		if _, err := o.w.Write(line); err != nil {
			return fmt.Errorf("write stdout: %w", err)
		}
	}
	if err := o.w.Flush(); err != nil {
		return fmt.Errorf("flush stdout: %w", err)
	}
	return nil
}

// Close flushes.
func (o *Writer) Close(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.w.Flush()
}
