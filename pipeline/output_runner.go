// The output runner: one per output, between the engine's dispatch and the output.

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/deadletter"
)

// job is one output's share of a dispatched batch and what to call when it is done.
type job struct {
	events Batch
	done   func(error)
}

// outputRunner is one output's delivery loop: it batches the jobs dispatched to it and
// delivers each flush (retried with backoff, permanent rejections to the dead letters)
// with up to the output's concurrency in flight.
type outputRunner struct {
	spec OutputSpec
	out  *DeadLetters // spec.Output behind the dead-letter step
	log  hclog.Logger
	obs  Observer
	in   chan job
	// misconfigured, set in once mode, is told of a Misconfigured error, and the batch
	// is then given up undelivered; without it (daemon) such errors are retried.
	misconfigured func(output string, err error)
}

func newOutputRunner(spec OutputSpec, log hclog.Logger, obs Observer) *outputRunner {
	o := spec.Options
	d := DefaultOutputOptions()
	if o.Concurrency <= 0 {
		o.Concurrency = d.Concurrency
	}
	if o.Batch.MaxEvents <= 0 {
		o.Batch.MaxEvents = d.Batch.MaxEvents
	}
	if o.Batch.MaxBytes <= 0 {
		o.Batch.MaxBytes = d.Batch.MaxBytes
	}
	if o.Batch.FlushInterval <= 0 {
		o.Batch.FlushInterval = d.Batch.FlushInterval
	}
	if o.RetryInitial <= 0 {
		o.RetryInitial = d.RetryInitial
	}
	if o.RetryMax <= 0 {
		o.RetryMax = d.RetryMax
	}
	spec.Options = o
	// Items the output rejects for good go to its dead-letter file before the batch is
	// acknowledged (DeadLetters), whatever the output.
	dl := &DeadLetters{Output: spec.Output, Name: spec.Name, Logger: log}
	if o.DeadLetterPath != "" {
		dl.File = deadletter.New(o.DeadLetterPath)
	}
	if c, ok := obs.(DeadLetterObserver); ok {
		dl.Observer = c
	}
	return &outputRunner{spec: spec, out: dl, log: log, obs: obs, in: make(chan job, 2)}
}

type flush struct {
	events Batch
	jobs   []job
}

// run batches incoming jobs by the output's policy and hands each flush to one of
// Concurrency workers; it returns when in is closed and every flush was handled.
func (r *outputRunner) run(ctx context.Context) {
	work := make(chan flush)
	var wg sync.WaitGroup
	for range r.spec.Options.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				err := r.deliver(ctx, f.events)
				for _, j := range f.jobs {
					j.done(err)
				}
			}
		}()
	}
	defer func() {
		close(work)
		wg.Wait()
	}()

	pol := r.spec.Options.Batch
	var cur flush
	curBytes := 0
	timer := time.NewTimer(pol.FlushInterval)
	defer timer.Stop()
	send := func() {
		if len(cur.jobs) == 0 {
			return
		}
		work <- cur
		cur = flush{}
		curBytes = 0
	}
	for {
		select {
		case j, ok := <-r.in:
			if !ok {
				send()
				return
			}
			n := j.events.Bytes()
			if len(cur.jobs) > 0 && (len(cur.events)+len(j.events) > pol.MaxEvents || curBytes+n > pol.MaxBytes) {
				send()
			}
			if len(cur.jobs) == 0 {
				timer.Reset(pol.FlushInterval)
			}
			cur.events = append(cur.events, j.events...)
			cur.jobs = append(cur.jobs, j)
			curBytes += n
			if len(cur.events) >= pol.MaxEvents || curBytes >= pol.MaxBytes {
				send()
			}
		case <-timer.C:
			send()
			timer.Reset(pol.FlushInterval)
		}
	}
}

// deliver writes b until it is delivered, retrying with exponential backoff and jitter
// (indefinitely: the inputs wait meanwhile) and only the failed items of a partial
// failure. Items rejected for good are dead-lettered by r.out, not retried. It gives up
// only when ctx ends, and then reports the batch undelivered.
func (r *outputRunner) deliver(ctx context.Context, b Batch) error {
	name := r.spec.Name
	backoff := r.spec.Options.RetryInitial
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			r.obs.OutputRetry(name)
		}
		start := time.Now()
		err := r.out.Write(ctx, b)
		r.obs.OutputBatch(name, time.Since(start))
		if err == nil {
			r.obs.OutputShipped(name, len(b), b.Bytes(), b.OutBytes())
			return nil
		}
		r.obs.OutputError(name)
		misconfigured := IsMisconfigured(err)
		if misconfigured && r.misconfigured != nil {
			r.log.Error("output configuration contradicts its destination; batch not delivered, run ends", "events", len(b), "error", err)
			r.misconfigured(name, err)
			return fmt.Errorf("output %s: %w", name, err)
		}
		var be *BatchError
		if errors.As(err, &be) && len(be.Failed) > 0 && len(be.Failed) < len(b) {
			failed := make(Batch, 0, len(be.Failed))
			for i, ev := range b {
				if _, bad := be.Failed[i]; bad {
					failed = append(failed, ev)
				}
			}
			r.obs.OutputShipped(name, len(b)-len(failed), b.Bytes()-failed.Bytes(), b.OutBytes()-failed.OutBytes())
			b = failed
			backoff = r.spec.Options.RetryInitial
		}
		wait := jitter(backoff)
		var ra RetryAfter
		if errors.As(err, &ra) && ra.RetryAfter() > wait {
			wait = ra.RetryAfter()
		}
		if misconfigured {
			// Retrying helps only once the destination or the config is fixed: say it loudly.
			r.log.Error("output configuration contradicts its destination; retrying until it is fixed", "events", len(b), "attempt", attempt+1, "wait", wait, "error", err)
		} else {
			r.log.Warn("output write failed; retrying", "events", len(b), "attempt", attempt+1, "wait", wait, "error", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("output %s: gave up on %d events at shutdown: %w", name, len(b), ctx.Err())
		case <-time.After(wait):
		}
		backoff = min(backoff*2, r.spec.Options.RetryMax)
	}
}

// jitter returns a duration in [d/2, d): spreads retries of many agents apart.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(half)
}
