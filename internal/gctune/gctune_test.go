package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

const mib = 1 << 20

func TestPercent(t *testing.T) {
	tests := []struct {
		name         string
		live, budget uint64
		want         int
	}{
		{"nothing marked yet", 0, 64 * mib, MinPercent},
		{"tiny heap is capped", 1 * mib, 64 * mib, MaxPercent},
		{"small heap grows into the budget", 16 * mib, 64 * mib, 300},
		{"a quarter", 20 * mib, 100 * mib, 400},
		{"half the budget: the default", 32 * mib, 64 * mib, MinPercent},
		{"over the budget: never below the default", 200 * mib, 64 * mib, MinPercent},
		{"just under half", 31 * mib, 64 * mib, 106},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percent(tt.live, tt.budget); got != tt.want {
				t.Fatalf("Percent(%d MiB, %d MiB) = %d, want %d", tt.live/mib, tt.budget/mib, got, tt.want)
			}
		})
	}
}

// TestAdjustHysteresis drives the tuner with a scripted live heap: GOGC follows it, small
// changes are not applied, and Stop restores what the process had.
func TestAdjustHysteresis(t *testing.T) {
	var live uint64
	var sets []int
	gogc := 77
	tu := &Tuner{budget: 64 * mib, live: func() uint64 { return live }, current: -1,
		setPercent: func(p int) int { old := gogc; gogc = p; sets = append(sets, p); return old }}
	live = 8 * mib
	tu.begin() // 100, then 700 for 8 MiB live
	tu.mu.Lock()
	live = 8*mib + mib/4
	tu.adjustLocked() // 676: within 10%, not applied
	live = 16 * mib
	tu.adjustLocked() // 300
	live = 40 * mib
	tu.adjustLocked() // 100
	tu.mu.Unlock()
	tu.Stop()
	tu.Stop()
	want := []int{100, 700, 300, 100, 77}
	if len(sets) != len(want) {
		t.Fatalf("GOGC set to %v, want %v", sets, want)
	}
	for i := range want {
		if sets[i] != want[i] {
			t.Fatalf("GOGC set to %v, want %v", sets, want)
		}
	}
	if gogc != 77 {
		t.Fatalf("GOGC after Stop = %d, want 77", gogc)
	}
}

// TestTunerFollowsCollections runs the real hook: after collections with a small live
// heap GOGC is raised, and Stop puts the previous value back.
func TestTunerFollowsCollections(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	tu := New(256 * mib)
	var reads atomic.Int32
	tu.live = func() uint64 { reads.Add(1); return liveHeap() }
	tu.Start()
	raised := false
	for i := 0; i < 100 && !(raised && reads.Load() > 2); i++ {
		runtime.GC()
		time.Sleep(time.Millisecond) // cleanups run on their own goroutine
		raised = gcPercent() > MinPercent
	}
	tu.Stop()
	if !raised || reads.Load() <= 2 {
		t.Fatalf("GOGC %d after %d reads of the live heap (%d MiB, budget 256 MiB)", gcPercent(), reads.Load(), liveHeap()/mib)
	}
	if got := gcPercent(); got != 100 {
		t.Fatalf("GOGC after Stop = %d, want 100", got)
	}
}

func gcPercent() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// TestOverlappingTuners: GOGC goes back to what the process had only when the last of
// several overlapping tuners stops, whatever the order.
func TestOverlappingTuners(t *testing.T) {
	gogc := 77
	set := func(p int) int { old := gogc; gogc = p; return old }
	mk := func() *Tuner {
		return &Tuner{budget: 64 * mib, live: func() uint64 { return 8 * mib }, setPercent: set, current: -1}
	}
	a, b := mk(), mk()
	a.begin()
	b.begin()
	a.Stop()
	if gogc == 77 {
		t.Fatal("GOGC restored while a tuner still runs")
	}
	b.Stop()
	if gogc != 77 {
		t.Fatalf("GOGC = %d after both stopped, want 77", gogc)
	}
}

// TestAutoHonoursGOGC: with GOGC set nothing is tuned; without it GOGC is raised for a
// small heap and restored by stop.
func TestAutoHonoursGOGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	stop := Auto(func(string) string { return "100" })
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	if got := gcPercent(); got != 100 {
		t.Fatalf("GOGC set: tuned to %d", got)
	}
	stop()
	stop = Auto(func(string) string { return "" })
	raised := false
	for i := 0; i < 100 && !raised; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
		raised = gcPercent() > MinPercent
	}
	stop()
	if !raised {
		t.Fatalf("GOGC unset: stayed at %d", gcPercent())
	}
	if got := gcPercent(); got != 100 {
		t.Fatalf("GOGC after stop = %d, want 100", got)
	}
}

// TestPollCatchesMissedCollection: a collection that no cleanup followed (one armed while
// it was marking survives it) is caught by the poll, which sets GOGC for the live heap
// that collection left; without a new collection the poll changes nothing.
func TestPollCatchesMissedCollection(t *testing.T) {
	var live, cycles uint64
	gogc := 100
	var sets []int
	tu := &Tuner{budget: 48 * mib, live: func() uint64 { return live }, cycles: func() uint64 { return cycles },
		setPercent: func(p int) int { old := gogc; gogc = p; sets = append(sets, p); return old }, current: -1}
	live, cycles = 2*mib, 1
	tu.begin() // 100, then 1000 for 2 MiB live
	live = 17 * mib
	tu.poll() // no collection since: 1000 stays
	if gogc != MaxPercent {
		t.Fatalf("GOGC %d after a poll with no new collection, want %d", gogc, MaxPercent)
	}
	cycles = 2 // a collection marked 17 MiB and no cleanup ran
	tu.poll()
	if want := Percent(17*mib, 48*mib); gogc != want {
		t.Fatalf("GOGC %d after a missed collection, want %d (sets %v)", gogc, want, sets)
	}
	tu.Stop()
}

// TestStopEndsPoll: Stop ends the poll goroutine (no goroutine left behind by reloads).
func TestStopEndsPoll(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	n := runtime.NumGoroutine()
	tu := New(48 * mib)
	tu.Start()
	if runtime.NumGoroutine() <= n {
		t.Fatal("no poll goroutine started")
	}
	tu.Stop()
	for i := 0; i < 200 && runtime.NumGoroutine() > n; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > n {
		t.Fatalf("%d goroutines after Stop, %d before Start", got, n)
	}
}
