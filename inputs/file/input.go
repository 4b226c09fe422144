// Package file is the `type: file` input: it follows files such as kube-apiserver's
// --audit-log-path through rotation (rename, copytruncate, gzip, a second rotator),
// reads them line by line and hands out batches whose acks move a checkpoint.
//
// The package is split by concern:
//
//   - input.go: the Input, its Read loop and its lifecycle (New, Close).
//   - finder.go: globs and exclusions to the ordered list of files (backups first).
//   - identity*.go: identity resolution as a pure function. resolve takes what is known
//     (the tracked identities), what the scan found (paths with stat results) and now,
//     and returns changes (same or cut, replaced, moved, copyOf, added, heldYoung,
//     vanishedLost, vanishedUnknown, forget, ...). It reads no file itself: what stat
//     cannot tell (a file's first bytes, whether the lines before a read position are
//     intact, the other files of a directory) it asks of a looker, which the Input
//     implements on the file system and the tests with tables (identity_test.go).
//   - scan.go: the Input's side of a scan: it gathers what resolve needs, applies the
//     changes to the tracked identities and counts what was lost.
//   - fingerprint.go, anchors.go, fileid_*.go: how identity is told (first bytes, line
//     tails, device and inode).
//   - state.go, registry.go: the persisted state (fileState, FileState) and the
//     checkpoint file, apart from open-file handles.
//   - handle.go, reader.go: open files: opening under max_open_files, checking a growing
//     file is still the same before reading on, line framing and gzip.
//   - watch.go: fsnotify and polling; they only raise signals (needScan, needPoll, wake)
//     that the Read loop acts on.
//   - batch.go: one batch from one file, and its ack closure, which moves the
//     checkpoint's watermark. Lines are decoded by inputs/decode (DecodeBatch).
//   - loss.go: what is counted lost, and how (.gz that cannot be read to its end).
package file

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// tracked is one file identity: the checkpointed state plus, while it is being read, an
// open handle. It outlives paths and inodes: a rename, a gzip or a copytruncate copy
// rebinds it to another path or inode with the same fingerprint.
type tracked struct {
	fileState
	handle
	seen bool // matched by the latest scan
	// confirmed: the fingerprint was checked against the file at key when it had
	// verSize and verMod, so an unchanged file need not be read again to be trusted.
	confirmed bool
	verSize   int64
	verMod    time.Time
}

// signals are what the watcher, the polls and the acks raise for the goroutine that
// reads; they coalesce.
type signals struct {
	needScan atomic.Bool // expand the globs again: a file was created, renamed or cut
	needPoll atomic.Bool // stat the known files again: one was written to
	dirty    atomic.Bool // the checkpoint changed since it was last saved
	wake     chan struct{}
	saveNow  chan struct{}
}

// Input is the `type: file` input.
type Input struct {
	cfg     Config
	name    string
	once    bool
	log     hclog.Logger
	met     config.Metrics
	dec     decode.Decoder
	find    finder
	reg     registry
	maxLine int
	fpBytes int

	mu    sync.Mutex
	files []*tracked
	byKey map[fileKey]*tracked
	memories
	youngFor time.Duration
	order    []*tracked
	fresh    bool // no checkpoint existed: start_at applies to the first scan
	scanned  bool
	lastScan time.Time
	lastPoll time.Time
	eventsIn int64
	bytesIn  int64
	opens    int // files opened for reading, for tests
	warned   map[string]*warnClass

	signals
	watch watcher

	saveMu sync.Mutex
	// saved is each path's offset in the checkpoint last written, for Saved.
	saved     map[string]int64
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

var (
	errClosed   = errors.New("file input closed")
	errReplaced = errors.New("no longer the file it was")
)

// youngFor is how long a backup too short to be fingerprinted must stay unchanged before
// it is taken for a file of its own rather than a copy still being written.
const youngFor = time.Second

// New creates the input, loading its checkpoint from set.DataDir.
func New(c *Config, set config.Settings) (*Input, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	dec, err := decode.New(c.Format)
	if err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	log := set.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	met := set.Metrics
	if met == nil {
		met = config.NopMetrics{}
	}
	in := &Input{
		cfg:     *c,
		name:    set.Name,
		once:    set.Once,
		log:     log,
		met:     met,
		dec:     dec,
		find:    finder{include: c.Paths, exclude: c.Exclude},
		reg:     registry{store: pipeline.NewCheckpointStore(filepath.Join(set.DataDir, "inputs", set.Name+".json"))},
		maxLine: int(c.MaxLineBytes),
		fpBytes: int(c.FingerprintBytes),
		byKey:   map[fileKey]*tracked{},
		memories: memories{
			dups: map[fileKey]int64{}, young: map[fileKey]int64{},
			badGzip: map[fileKey]probe{}, probed: map[fileKey]probe{},
		},
		warned:   map[string]*warnClass{},
		youngFor: youngFor,
		signals:  signals{wake: make(chan struct{}, 1), saveNow: make(chan struct{}, 1)},
		stop:     make(chan struct{}),
	}
	if err := in.restore(set.ResetCorruptCheckpoints); err != nil {
		return nil, fmt.Errorf("input %s: %w", set.Name, err)
	}
	if c.Watch && !set.Once {
		in.watch = startWatcher(in.log, &in.signals, in.stop, &in.wg, c.PollInterval)
	}
	in.wg.Add(1)
	go in.persistLoop()
	return in, nil
}

// Read returns the next batch, every event of which comes from one file.
func (in *Input) Read(ctx context.Context) (pipeline.Batch, pipeline.AckFunc, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		select {
		case <-in.stop:
			return nil, nil, errClosed
		default:
		}
		b, ack, end := in.step(ctx)
		if b != nil {
			return b, ack, nil
		}
		if end {
			return nil, nil, pipeline.ErrEndOfInput
		}
		timer := time.NewTimer(in.cfg.PollInterval)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, nil, ctx.Err()
		case <-in.stop:
			timer.Stop()
			return nil, nil, errClosed
		case <-in.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// step looks for changes and reads one batch; end is set in once mode when every file
// was read to its end.
func (in *Input) step(ctx context.Context) (pipeline.Batch, pipeline.AckFunc, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	now := time.Now()
	switch {
	case !in.scanned || in.needScan.Swap(false) || now.Sub(in.lastScan) >= in.cfg.RescanInterval:
		in.scan(now)
	case in.needPoll.Swap(false) || now.Sub(in.lastPoll) >= in.cfg.PollInterval:
		in.poll(now)
	}
	// A file whose lines yield no events (blank, invalid, a decompression bomb) is read on
	// for at most this much per step, so it cannot hold up every other file.
	budget := 4 * int64(in.cfg.BatchMaxBytes)
	for _, t := range in.order {
		for spent := int64(0); t.more && ctx.Err() == nil && spent < budget; {
			from := t.readOff
			if b, ack := in.readBatch(t, now); b != nil {
				return b, ack, false
			}
			spent += max(t.readOff-from, 1)
		}
	}
	if !in.once || ctx.Err() != nil || in.needScan.Load() {
		return nil, nil, false
	}
	for _, t := range in.order {
		if t.more {
			return nil, nil, false
		}
	}
	return nil, nil, true
}

// Close stops the watcher, writes the final checkpoint and closes every file.
func (in *Input) Close() error {
	in.closeOnce.Do(func() {
		close(in.stop)
		in.watch.close()
		in.wg.Wait()
		in.closeErr = in.persist(true)
		in.mu.Lock()
		for _, t := range in.files {
			in.closeReader(t)
		}
		in.mu.Unlock()
	})
	return in.closeErr
}
