// Package file is the `type: file` input: it follows audit log files through rename,
// gzip, copytruncate and deletion, and advances its checkpoint only past lines whose
// events were delivered (or were invalid and skipped).
//
// It is split the way the collectors that get this right split it: the finder turns
// globs into ordered paths, a fingerprint identifies a file by its first bytes, a reader
// frames lines from an offset and knows nothing of checkpoints, the registry persists the
// per-file state, and the tailer ties them together.
package file

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// Config is the `type: file` input's section.
type Config struct {
	// Paths are globs; for a path that names a live file (audit.log) its rotated siblings
	// (lumberjack audit-<timestamp>.log[.gz], logrotate audit.log.1[.gz]) are followed too.
	Paths []string `mapstructure:"paths"`
	// Exclude globs are matched against the full path and against the base name.
	Exclude []string `mapstructure:"exclude"`
	// Format is audit, kube-audit-rest or auto.
	Format string `mapstructure:"format"`
	// StartAt applies only on the agent's first start on data_dir (no input has a
	// checkpoint there yet): end skips what the files already hold. An input renamed or
	// added later reads from the beginning, and files that appear later are always read
	// from their beginning.
	StartAt string `mapstructure:"start_at"`
	// MaxLineBytes: longer lines are skipped whole (never split) and counted.
	MaxLineBytes config.ByteSize `mapstructure:"max_line_bytes"`
	// PollInterval is how often known files are checked for growth, rotation and
	// truncation. It runs even when file events work, because overlay and network
	// filesystems may accept a watch and never deliver an event.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// Watch uses fsnotify for low latency; polling remains the fallback.
	Watch bool `mapstructure:"watch"`
	// RescanInterval is how often the globs are expanded again.
	RescanInterval time.Duration `mapstructure:"rescan_interval"`
	// MaxOpenFiles caps open file handles; the least recently read file is closed first
	// and reopened by identity when it has more to read.
	MaxOpenFiles int `mapstructure:"max_open_files"`
	// CloseInactive closes a file that had nothing new for this long.
	CloseInactive time.Duration `mapstructure:"close_inactive"`
	// PruneAfter forgets checkpoint entries of files gone for longer than this.
	PruneAfter time.Duration `mapstructure:"prune_after"`
	// FingerprintBytes is how many leading bytes identify a file.
	FingerprintBytes config.ByteSize `mapstructure:"fingerprint_bytes"`
	// MaxGzipRatio bounds how far a .gz may expand: past this many uncompressed bytes per
	// compressed byte it is taken for a decompression bomb, read no further, and its rest
	// counted lost. Audit lines carry random IDs and timestamps and compress about 10-30
	// times; 0 means no limit.
	MaxGzipRatio int `mapstructure:"max_gzip_ratio"`
	// BatchMaxEvents and BatchMaxBytes bound one batch (always from one file).
	BatchMaxEvents int             `mapstructure:"batch_max_events"`
	BatchMaxBytes  config.ByteSize `mapstructure:"batch_max_bytes"`
}

// Defaults.
const (
	DefaultMaxLineBytes     = 4 << 20
	DefaultFingerprintBytes = 1 << 10
	DefaultBatchMaxEvents   = 1000
	DefaultBatchMaxBytes    = 1 << 20
	DefaultMaxOpenFiles     = 64
	DefaultMaxGzipRatio     = 100
)

// NewConfig returns a Config holding the defaults.
func NewConfig() *Config {
	return &Config{
		Format:           "audit",
		StartAt:          "beginning",
		MaxLineBytes:     DefaultMaxLineBytes,
		PollInterval:     time.Second,
		Watch:            true,
		RescanInterval:   10 * time.Second,
		MaxOpenFiles:     DefaultMaxOpenFiles,
		CloseInactive:    5 * time.Minute,
		PruneAfter:       24 * time.Hour,
		FingerprintBytes: DefaultFingerprintBytes,
		MaxGzipRatio:     DefaultMaxGzipRatio,
		BatchMaxEvents:   DefaultBatchMaxEvents,
		BatchMaxBytes:    DefaultBatchMaxBytes,
	}
}

// Validate reports every bad key at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(c.Paths) == 0 {
		bad("paths", "at least one glob is required")
	}
	for i, p := range c.Paths {
		if p == "" {
			bad(fmt.Sprintf("paths[%d]", i), "must not be empty")
		} else if _, err := filepath.Match(p, ""); err != nil {
			bad(fmt.Sprintf("paths[%d]", i), "invalid glob %q: %v", p, err)
		}
	}
	for i, p := range c.Exclude {
		if _, err := filepath.Match(p, ""); err != nil {
			bad(fmt.Sprintf("exclude[%d]", i), "invalid glob %q: %v", p, err)
		}
	}
	if !slices.Contains(decode.Formats, c.Format) {
		bad("format", "unknown format %q (audit, kube-audit-rest, auto)", c.Format)
	}
	if c.StartAt != "beginning" && c.StartAt != "end" {
		bad("start_at", "must be beginning or end, not %q", c.StartAt)
	}
	if c.MaxLineBytes < 1024 {
		bad("max_line_bytes", "must be at least 1KiB, not %v", c.MaxLineBytes)
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			bad(key, "must be a positive duration, not %v", d)
		}
	}
	positive("poll_interval", c.PollInterval)
	positive("rescan_interval", c.RescanInterval)
	positive("close_inactive", c.CloseInactive)
	positive("prune_after", c.PruneAfter)
	if c.MaxOpenFiles < 1 {
		bad("max_open_files", "must be at least 1, not %d", c.MaxOpenFiles)
	}
	if c.FingerprintBytes < 16 || c.FingerprintBytes > 1<<20 {
		bad("fingerprint_bytes", "must be between 16B and 1MiB, not %v", c.FingerprintBytes)
	}
	if c.MaxGzipRatio < 0 {
		bad("max_gzip_ratio", "must be 0 (no limit) or more, not %d", c.MaxGzipRatio)
	}
	if c.BatchMaxEvents < 1 {
		bad("batch_max_events", "must be at least 1, not %d", c.BatchMaxEvents)
	}
	if c.BatchMaxBytes < 1 {
		bad("batch_max_bytes", "must be at least 1 byte, not %v", c.BatchMaxBytes)
	}
	return errors.Join(errs...)
}

// NewFactory returns the factory of the `file` input type.
func NewFactory() config.InputFactory {
	return config.InputFactory{
		Type:      "file",
		NewConfig: func() any { return NewConfig() },
		Create: func(cfg any, set config.Settings) (pipeline.Input, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, fmt.Errorf("file input: unexpected config type %T", cfg)
			}
			return New(c, set)
		},
	}
}
