// Package gctune lets the garbage collector use a fixed heap budget while the live heap is
// small. With the default GOGC=100 the runtime collects every time the heap doubles; the
// agent's live heap is a few tens of MB while it allocates several bytes per input byte,
// so it collects hundreds of times a minute and spends a good part of its CPU on that
// and on handing memory back to the OS in between. A Tuner raises GOGC after each
// collection so that the next one comes when the heap reaches the budget, and lowers it
// back to 100 (never below) as the live heap grows towards the budget: memory use is then
// what GOGC=100 would give, never more.
package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// Bounds on the GOGC the tuner sets.
const (
	MinPercent = 100 // the runtime's default: the tuner never makes the heap smaller
	MaxPercent = 1000
)

// DefaultBudget is the heap the agent lets the collector grow to. 48 MiB gave nearly all of
// the CPU that 64 MiB did (4.9 against 5.0 CPU-s/GB on bench/bench.yaml, 6.0 at GOGC=100)
// at 74 MB peak RSS rather than 89 MB.
const DefaultBudget = 48 << 20

// Auto starts a tuner with DefaultBudget unless the GOGC environment variable is set (the
// operator's choice wins), and returns what stops it.
func Auto(getenv func(string) string) (stop func()) {
	if getenv("GOGC") != "" {
		return func() {}
	}
	t := New(DefaultBudget)
	t.Start()
	return t.Stop
}

// Tuner adjusts GOGC after every garbage collection until stopped.
type Tuner struct {
	budget uint64
	// live reads the live heap (bytes marked by the last collection); setPercent is
	// debug.SetGCPercent. Both are fields so tests can drive Adjust without the runtime.
	live       func() uint64
	setPercent func(int) int
	// cycles reads the number of completed collections.
	cycles func() uint64

	mu      sync.Mutex
	stopped bool
	current int
	seen    uint64        // cycles at the last adjustment
	done    chan struct{} // closed by Stop: ends the poll loop
}

// pollEvery is how often the tuner checks for a collection it was not told of. A cleanup
// armed while a collection is marking survives that collection, so no cleanup follows
// it; the heap goal the runtime then sets is its live heap times the GOGC chosen for the
// live heap before it. Early on, when the live heap grows from a few MB to twenty, that
// goal was 190 MB (peak RSS 229 MB on bench-nofilter.yaml, against 75 MB normally).
// Checking the count of collections every 10 ms bounds such a stale goal to 10 ms of
// allocation, for a wakeup that costs microseconds.
const pollEvery = 10 * time.Millisecond

// running counts the tuners started and not stopped, and keeps the GOGC the process had
// before the first: GOGC is one setting for the whole process, so when tuners overlap
// (reloads, tests running agents side by side) only the last to stop may restore it,
// and it must restore what was there before any of them.
var running struct {
	sync.Mutex
	n       int
	initial int
}

// New returns a tuner that lets the heap grow to budget bytes between collections.
func New(budget uint64) *Tuner {
	return &Tuner{budget: budget, live: liveHeap, setPercent: debug.SetGCPercent, cycles: gcCycles, current: -1}
}

// Start begins tuning: GOGC is set now and after every collection, until Stop.
func (t *Tuner) Start() {
	t.begin()
	t.arm()
	done := make(chan struct{})
	t.mu.Lock()
	t.done = done
	t.mu.Unlock()
	go func() {
		tick := time.NewTicker(pollEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				t.poll()
			}
		}
	}()
}

// poll adjusts GOGC when a collection completed since the last adjustment.
func (t *Tuner) poll() {
	t.mu.Lock()
	if !t.stopped && t.cycles != nil && t.cycles() != t.seen {
		t.adjustLocked()
	}
	t.mu.Unlock()
}

// begin counts t in running and sets GOGC for the live heap now.
func (t *Tuner) begin() {
	running.Lock()
	if prev := t.setPercent(MinPercent); running.n == 0 {
		running.initial = prev
	}
	running.n++
	running.Unlock()
	t.mu.Lock()
	t.current = MinPercent
	t.adjustLocked()
	t.mu.Unlock()
}

// Stop ends tuning and restores the GOGC the process had before Start.
func (t *Tuner) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.stopped = true
	if t.done != nil {
		close(t.done)
	}
	running.Lock()
	if running.n--; running.n == 0 {
		t.setPercent(running.initial)
	}
	running.Unlock()
}

// arm registers a cleanup on a fresh object nobody references: the runtime runs it after
// the next collection, which is the moment the live heap is known.
func (t *Tuner) arm() {
	s := &sentinel{}
	runtime.AddCleanup(s, (*Tuner).afterGC, t)
}

// sentinel holds a pointer so it is never a tiny allocation (tiny objects share a block,
// and a cleanup on one may wait for its neighbours).
type sentinel struct{ _ *byte }

func (t *Tuner) afterGC() {
	t.mu.Lock()
	stopped := t.stopped
	if !stopped {
		t.adjustLocked()
	}
	t.mu.Unlock()
	if !stopped {
		t.arm()
	}
}

// Percent returns the GOGC that puts the next collection at budget for a live heap of
// live bytes: heap goal = live * (1 + GOGC/100).
func Percent(live, budget uint64) int {
	if live == 0 || live*2 >= budget {
		return MinPercent
	}
	p := (budget - live) * 100 / live
	if p > MaxPercent {
		return MaxPercent
	}
	return max(int(p), MinPercent)
}

func (t *Tuner) adjustLocked() {
	if t.cycles != nil {
		t.seen = t.cycles()
	}
	p := Percent(t.live(), t.budget)
	// Setting GOGC takes the heap lock; a change of a few percent is not worth it.
	if d := p - t.current; d > t.current/10 || -d > t.current/10 {
		t.setPercent(p)
		t.current = p
	}
}

func gcCycles() uint64 { return readUint64("/gc/cycles/total:gc-cycles") }

func liveHeap() uint64 { return readUint64("/gc/heap/live:bytes") }

// readUint64 reads one runtime metric of kind uint64 (0 when the runtime lacks it).
func readUint64(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
