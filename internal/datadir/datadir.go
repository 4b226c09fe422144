// Package datadir claims an agent's data_dir: it makes it the agent's own directory
// (0700), takes an exclusive lock on it, and checks that it takes writes, so an agent
// never runs with checkpoints it cannot save or shares them with a second agent.
//
// Two agents on one data_dir (a second pod during a rollout, a `run --once` beside the
// DaemonSet) would each checkpoint its own progress over the other's, and each restart
// would re-ship what the other delivered. As Filebeat does with its data path lock, the
// second agent exits with a message naming the holder rather than waiting: a wait would
// look like a hung agent, and an exit is what an orchestrator retries and shows.
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/auditship/auditship/internal/safefile"
)

// LockName is the lock file's name inside data_dir.
const LockName = "auditship.lock"

// ErrLocked is returned (wrapped) when another process holds the data_dir lock.
var ErrLocked = errors.New("data_dir is in use by another auditship")

// Claim is a data_dir held by this process until Release.
type Claim struct {
	Dir  string
	lock *os.File
}

// Acquire makes dir the agent's (created 0700, or found owned by the agent's user and set
// to 0700), locks it exclusively without waiting, and checks that a file can be written
// and fsynced in it (a read-only or full data_dir would leave checkpoints unsaved: every
// restart would then re-ship everything since the last save). The errors say which.
func Acquire(dir string) (*Claim, error) {
	if err := safefile.PrivateDir(dir); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	if err := tighten(dir); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	path := filepath.Join(dir, LockName)
	f, err := safefile.OpenLock(path)
	if err != nil {
		return nil, fmt.Errorf("data_dir %s: lock file: %w", dir, err)
	}
	if err := lockFile(f); err != nil {
		holder := readHolder(path)
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("%w (%s%s): two agents on one data_dir overwrite each other's checkpoints and ship events twice; stop the other agent or give this one its own data_dir", ErrLocked, path, holder)
		}
		return nil, fmt.Errorf("data_dir %s: lock: %w", dir, err)
	}
	c := &Claim{Dir: dir, lock: f}
	if err := c.writeHolder(); err != nil {
		c.Release()
		return nil, err
	}
	if err := probe(dir); err != nil {
		c.Release()
		return nil, err
	}
	return c, nil
}

// tighten makes every directory under dir (checkpoints, dead letters; an older version
// or an operator may have made them wider) the agent's own and 0700. Symlinks are not
// followed: a link is left for the code that opens through it to refuse.
func tighten(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == dir || !d.IsDir() {
			return nil
		}
		return safefile.PrivateDir(path)
	})
}

// writeHolder records this process's pid in the lock file, for the next agent's message.
// Writing it is also the first proof that data_dir takes writes.
func (c *Claim) writeHolder() error {
	if err := c.lock.Truncate(0); err != nil {
		return fmt.Errorf("data_dir %s is not writable: %w", c.Dir, err)
	}
	if _, err := c.lock.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return fmt.Errorf("data_dir %s is not writable: %w", c.Dir, err)
	}
	return nil
}

func readHolder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if pid := strings.TrimSpace(string(b)); pid != "" {
		return ", held by pid " + pid
	}
	return ""
}

// probe writes, fsyncs and removes a checkpoint-sized file, as a checkpoint save does.
func probe(dir string) error {
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("data_dir %s is not writable (checkpoints could not be saved): %w", dir, err)
	}
	name := f.Name()
	defer os.Remove(name)
	_, err = f.Write(make([]byte, 4096))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("data_dir %s is not writable (checkpoints could not be saved): %w", dir, err)
	}
	return nil
}

// Release unlocks data_dir. The lock file stays: removing it would let a third agent lock
// a new file while a second still waits on the old one.
func (c *Claim) Release() {
	if c == nil || c.lock == nil {
		return
	}
	_ = c.lock.Close() // closing the descriptor releases the flock
	c.lock = nil
}
