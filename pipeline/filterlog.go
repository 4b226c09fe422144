package pipeline

import (
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// FilterErrorLogEvery is how often, at most, the failures of one filter with one class
// of error are logged; the line in between counts them.
const FilterErrorLogEvery = time.Minute

// errorClass is implemented by filter errors that can say what kind of failure they are
// in words that never come from the event (condition.EvalError).
type errorClass interface{ ErrorClass() string }

// filterErrorLog is an Observer that also logs filter failures at ERROR, since every one
// is an event dropped from the audit trail. It logs the first failure of each filter and
// error class at once, then at most once per FilterErrorLogEvery with how many there were
// since: a filter failing on every event writes one line a minute, not one per event.
// It logs the class, never the error's text, which can hold event content.
type filterErrorLog struct {
	Observer
	log   hclog.Logger
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	seen map[filterErrorKey]*filterErrorCount
}

type filterErrorKey struct{ filter, class string }

type filterErrorCount struct {
	last       time.Time
	suppressed int
}

func newFilterErrorLog(obs Observer, log hclog.Logger) *filterErrorLog {
	return &filterErrorLog{Observer: obs, log: log, every: FilterErrorLogEvery, now: time.Now, seen: map[filterErrorKey]*filterErrorCount{}}
}

func (l *filterErrorLog) FilterFailed(filter string, err error) {
	l.Observer.FilterFailed(filter, err)
	class := "filter error"
	var c errorClass
	if errors.As(err, &c) {
		class = c.ErrorClass()
	}
	key := filterErrorKey{filter, class}
	now := l.now()
	l.mu.Lock()
	n, ok := l.seen[key]
	if !ok {
		n = &filterErrorCount{}
		l.seen[key] = n
	}
	if ok && now.Sub(n.last) < l.every {
		n.suppressed++
		l.mu.Unlock()
		return
	}
	// events counts this failure and those not logged since the last line.
	events := n.suppressed + 1
	n.last, n.suppressed = now, 0
	l.mu.Unlock()
	l.log.Error("filter failed; events dropped (fail-closed)", "filter", filter, "class", class, "events", events)
}

// OutputDeadLettered forwards to the wrapped Observer when it counts dead letters.
func (l *filterErrorLog) OutputDeadLettered(output string, events int) {
	if c, ok := l.Observer.(DeadLetterObserver); ok {
		c.OutputDeadLettered(output, events)
	}
}
