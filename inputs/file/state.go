package file

import (
	"fmt"
	"slices"
	"time"

	"github.com/auditship/auditship/pipeline"
)

// fileState is what the input remembers of one file identity across reads and restarts:
// the part of tracked that the checkpoint (FileState) is made from, apart from the open
// handle.
type fileState struct {
	path   string
	key    fileKey // zero while bound to no inode (its content is looked for by fingerprint)
	gz     bool
	backup bool
	fp     fingerprint
	// acks hold the acknowledged watermark: the checkpointed offset.
	acks *pipeline.AckTracker
	// size is the content size last seen (uncompressed for a .gz once read to its end).
	size     int64
	lastSeen time.Time
	// gzEnded: this .gz was read to its end, so size is its exact uncompressed size. Until
	// then size may be that of the plain file it was compressed from, which can have
	// grown (unseen, while the agent was down) before the compression.
	gzEnded     bool
	lostCounted bool
	// avgLine is the mean line size seen in this file, to estimate how many events
	// vanished with its unread bytes.
	avgLine           float64
	linesIn, lineByte int64
	// anchors are line tails read from a plain file that is written to, oldest first.
	anchors []anchor
}

// restore loads the checkpoint into tracked identities and decides whether start_at
// applies.
func (in *Input) restore(reset bool) error {
	states, found, err := in.reg.load(reset, in.log)
	if err != nil {
		return err
	}
	in.saved = make(map[string]int64, len(states))
	for _, st := range states {
		if st.Path != "" && !st.Unreadable {
			in.saved[st.Path] = st.Offset
		}
		if st.Unreadable {
			in.badGzip[fileKey{Dev: st.Dev, Ino: st.Inode}] = probe{size: st.Size, mod: st.LastSeen}
			continue
		}
		fp, err := parseFingerprint(st.Fingerprint, st.FingerprintLen, st.FingerprintLead)
		if err != nil {
			if !reset {
				return fmt.Errorf("%w %s: %v (set reset_corrupt_checkpoints: true to start afresh)",
					pipeline.ErrCorruptCheckpoint, in.reg.store.Path(), err)
			}
			in.log.Warn("dropping a checkpoint entry that cannot be decoded", "path", st.Path, "error", err)
			continue
		}
		if fp.Len == 0 {
			// No identity (tracked while empty, nothing read): bound by inode alone it
			// would claim whatever file reused the inode while the agent was down.
			in.log.Debug("dropping a checkpoint entry without a fingerprint", "path", st.Path)
			continue
		}
		t := &tracked{
			fileState: fileState{
				path: st.Path, key: fileKey{Dev: st.Dev, Ino: st.Inode}, gz: st.Gzip, fp: fp,
				acks: pipeline.NewAckTracker(st.Offset), size: st.Size, lastSeen: st.LastSeen,
				avgLine: float64(st.AvgLineBytes), gzEnded: st.Gzip && st.Ended, lostCounted: st.Lost,
				anchors: st.Anchors,
			},
			handle: handle{readOff: st.Offset, eofSize: -1, more: true},
		}
		in.files = append(in.files, t)
		if t.key != (fileKey{}) {
			in.byKey[t.key] = t
		}
	}
	in.fresh = !found
	if in.fresh && in.cfg.StartAt == "end" {
		// start_at applies to the agent's first start on data_dir only. Another input's
		// checkpoint there means the agent ran before, so this input was renamed or added
		// (by a reload or a restart): skipping what its files hold would lose events no
		// one shipped, silently.
		if others, err := in.reg.others(); err != nil || len(others) > 0 {
			in.log.Warn("start_at: end ignored: data_dir holds checkpoints of other inputs (this input was renamed or added after the first start); reading its files from the beginning so nothing is skipped",
				"other_inputs", others, "error", err)
			in.fresh = false
		}
	}
	return nil
}

func (in *Input) persistLoop() {
	defer in.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-in.stop:
			return
		case <-tick.C:
		case <-in.saveNow:
		}
		if err := in.persist(in.dirty.Swap(false)); err != nil {
			in.dirty.Store(true)
			in.log.Error("saving checkpoint", "error", err)
		}
	}
}

// persist reports the checkpoint lag and, when save is set, writes the watermarks.
func (in *Input) persist(save bool) error {
	in.saveMu.Lock()
	defer in.saveMu.Unlock()
	states, lag := in.snapshot()
	in.met.InputCheckpointLag(in.name, lag)
	var err error
	if save {
		if err = in.reg.save(states); err == nil {
			saved := make(map[string]int64, len(states))
			for _, st := range states {
				if st.Path != "" {
					saved[st.Path] = st.Offset
				}
			}
			in.saved = saved // under saveMu
		}
	}
	// Reported either way: nothing to save means the checkpoint on disk is current.
	in.met.InputCheckpointSaved(in.name, err)
	return err
}

// snapshot returns, under mu, the checkpoint's entries and the bytes seen but not yet
// acknowledged.
func (in *Input) snapshot() ([]FileState, int64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	states := make([]FileState, 0, len(in.files))
	var lag int64
	for _, t := range in.files {
		wm := t.acks.Watermark()
		if t.size > wm && !t.lostCounted {
			// What was counted lost can never be delivered: as lag it would hold /healthz
			// at "wedged" until prune_after forgets the entry.
			lag += t.size - wm
		}
		if t.fp.Len == 0 {
			// Nothing read from it (its fingerprint widens with the first line read) and
			// no identity to find it by: a restart finds the file afresh.
			continue
		}
		states = append(states, FileState{
			Path: t.path, Dev: t.key.Dev, Inode: t.key.Ino,
			Fingerprint: t.fp.String(), FingerprintLen: t.fp.Len, FingerprintLead: t.fp.Lead, Gzip: t.gz,
			Offset: wm, Size: t.size, LastSeen: t.lastSeen, AvgLineBytes: int64(in.avgLineBytes(t)),
			Ended: t.gz && t.gzEnded, Lost: t.lostCounted, Anchors: slices.Clone(anchorsUpTo(t.anchors, wm)), // saved outside mu
		})
	}
	for key, pr := range in.badGzip {
		states = append(states, FileState{Dev: key.Dev, Inode: key.Ino, Size: pr.size, LastSeen: pr.mod, Unreadable: true})
	}
	return states, lag
}

// Saved returns the offset of path in the checkpoint last written to disk: every line
// before it was delivered (or skipped as invalid), and stays so across a restart. ok is
// false when that checkpoint holds no entry for path. A spool that hands its segments to
// this input deletes a segment it writes no more once Saved reaches its size.
func (in *Input) Saved(path string) (offset int64, ok bool) {
	in.saveMu.Lock()
	defer in.saveMu.Unlock()
	offset, ok = in.saved[path]
	return offset, ok
}
