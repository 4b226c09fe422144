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

// InputSpec names an input.
type InputSpec struct {
	Name  string
	Input Input
}

// OutputSpec is an output with its own filters (run after the global ones, on a copy of
// each event, for this output only) and how the engine batches and retries for it.
type OutputSpec struct {
	Name    string
	Output  Output
	Options OutputOptions
	Filters Chain
}

// Config is everything an engine runs.
type Config struct {
	Inputs   []InputSpec
	Filters  Chain
	Outputs  []OutputSpec
	Logger   hclog.Logger
	Observer Observer
	// DrainTimeout bounds how long shutdown waits for in-flight batches to be delivered;
	// what is still undelivered then is left unacknowledged and re-read on the next start.
	DrainTimeout time.Duration
	// Delivered, when set, records what each output delivered of the batches left
	// unacknowledged at shutdown, and keeps an output from being sent what it recorded
	// there. Engines that follow one another in a process (reloads) share it, so a
	// reload while one output is down does not repeat events in the others.
	Delivered *Delivered
}

// Engine moves batches from inputs through filters to outputs. Channels between stages
// are small and bounded, so a slow output stops the inputs from reading (backpressure)
// instead of letting memory grow.
type Engine struct {
	cfg     Config
	log     hclog.Logger
	obs     Observer
	outputs []*outputRunner

	progress    sync.Mutex
	lastAck     time.Time
	undelivered int   // batches left unacknowledged at shutdown
	misconfig   error // first Misconfigured error of a once run, which ends it
	stopReading context.CancelFunc
}

// New returns an engine for cfg.
func New(cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Observer == nil {
		cfg.Observer = NopObserver{}
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 30 * time.Second
	}
	return &Engine{cfg: cfg, log: cfg.Logger, obs: newFilterErrorLog(cfg.Observer, cfg.Logger), lastAck: time.Now()}
}

// LastProgress returns when a batch was last acknowledged (or the engine started).
func (e *Engine) LastProgress() time.Time {
	e.progress.Lock()
	defer e.progress.Unlock()
	return e.lastAck
}

func (e *Engine) batchDone(err error) {
	e.progress.Lock()
	if err == nil {
		e.lastAck = time.Now()
	} else {
		e.undelivered++
	}
	e.progress.Unlock()
}

// Run reads until ctx is cancelled or, with once, until every input reports
// ErrEndOfInput; then it drains: waits for in-flight batches to be delivered, closes
// inputs (which write their final checkpoints) and outputs. Once ctx is cancelled the
// drain may take DrainTimeout at most; what is undelivered then stays unacknowledged and
// is read again on the next start. Without cancellation (once mode) delivery is awaited
// for as long as it takes, retrying, as a backfill should.
func (e *Engine) Run(ctx context.Context, once bool) error {
	// Outputs outlive the read context: they must deliver what was read before shutdown.
	drainCtx, cancelDrain := context.WithCancel(context.Background())
	defer cancelDrain()
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-finished:
			return
		case <-ctx.Done():
		}
		select {
		case <-finished:
		case <-time.After(e.cfg.DrainTimeout):
			e.log.Warn("drain timed out; undelivered batches will be read again on next start", "timeout", e.cfg.DrainTimeout)
			cancelDrain()
		}
	}()

	// A once run stops reading at the first Misconfigured error: more batches would only
	// fail the same way.
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	e.stopReading = stopReading

	e.outputs = make([]*outputRunner, len(e.cfg.Outputs))
	var outWG sync.WaitGroup
	for i, spec := range e.cfg.Outputs {
		r := newOutputRunner(spec, e.log.Named("output").With("output", spec.Name), e.obs)
		if once {
			r.misconfigured = e.misconfigured
		}
		e.outputs[i] = r
		outWG.Add(1)
		go func() {
			defer outWG.Done()
			r.run(drainCtx)
		}()
	}

	var inWG sync.WaitGroup
	errs := make([]error, len(e.cfg.Inputs))
	for i, in := range e.cfg.Inputs {
		inWG.Add(1)
		go func() {
			defer inWG.Done()
			errs[i] = e.readLoop(readCtx, drainCtx, in)
		}()
	}
	inWG.Wait()

	// Every batch read is now queued; let outputs flush it.
	for _, r := range e.outputs {
		close(r.in)
	}
	outWG.Wait()

	errs = append(errs, e.closeAll()...)
	e.progress.Lock()
	undelivered, misconfig := e.undelivered, e.misconfig
	e.progress.Unlock()
	if misconfig != nil {
		errs = append(errs, misconfig)
	}
	if once && undelivered > 0 {
		// A backfill that could not deliver everything must not look like a success; the
		// checkpoints stay before those batches, so the next run picks them up.
		errs = append(errs, fmt.Errorf("%d batches were not delivered; they will be read again on the next run", undelivered))
	}
	return errors.Join(errs...)
}

// closeAll closes the inputs (which write their final checkpoints), then the outputs.
func (e *Engine) closeAll() []error {
	var errs []error
	for _, in := range e.cfg.Inputs {
		if err := in.Input.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close input %s: %w", in.Name, err))
		}
	}
	closeCtx, cancelClose := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelClose()
	for _, r := range e.outputs {
		if err := r.spec.Output.Close(closeCtx); err != nil {
			errs = append(errs, fmt.Errorf("close output %s: %w", r.spec.Name, err))
		}
	}
	return errs
}

// misconfigured records err (a once run's output learnt its configuration contradicts
// its destination) and stops reading; the run then ends with err.
func (e *Engine) misconfigured(output string, err error) {
	e.progress.Lock()
	if e.misconfig == nil {
		e.misconfig = fmt.Errorf("output %s is misconfigured: %w", output, err)
	}
	e.progress.Unlock()
	e.stopReading()
}

// readLoop reads batches and hands them, in order, to a dispatcher goroutine that filters
// them and passes them to the outputs: reading and decoding the next batch overlaps with
// filtering this one (two cores at work), while the small queue keeps memory bounded and
// the single dispatcher keeps the input's order.
func (e *Engine) readLoop(ctx, drainCtx context.Context, in InputSpec) error {
	type read struct {
		batch Batch
		ack   AckFunc
	}
	queue := make(chan read, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// A batch read before shutdown is still delivered (within the drain timeout, which
		// cancels drainCtx), so a restart or reload neither loses nor repeats it: nacking
		// it here could repeat it in an output that already had its share.
		for r := range queue {
			e.dispatch(drainCtx, r.batch, r.ack)
		}
	}()
	defer func() {
		close(queue)
		<-done
	}()
	for {
		batch, ack, err := in.Input.Read(ctx)
		if err != nil {
			if errors.Is(err, ErrEndOfInput) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("input %s: %w", in.Name, err)
		}
		// Outputs name the input an event came from (Splunk HEC's source, Kafka's input
		// header), and only the engine knows which input it read the batch from.
		for _, ev := range batch {
			ev.Input = in.Name
		}
		select {
		case queue <- read{batch, ack}:
		case <-drainCtx.Done():
			ack(drainCtx.Err())
			return nil
		}
	}
}

// dispatch filters a batch and hands each output its share; the batch is acked to its
// input once every output acked its share (a dropped event needs no ack). When ctx (the
// drain context) ends while an output is full, the batch is reported undelivered.
func (e *Engine) dispatch(ctx context.Context, batch Batch, ack AckFunc) {
	t := &batchAck{ack: ack, pending: 1, onDone: e.batchDone, record: e.cfg.Delivered}
	kept := batch[:0:0]
	for _, ev := range batch {
		if e.cfg.Filters.Keep(ev, e.obs) {
			// Encoded once here rather than by each output, and held by the outputs as it
			// will be written. An event that cannot be encoded stays as it is, and the
			// output that fails to encode it reports that.
			_ = ev.Settle()
			kept = append(kept, ev)
		}
	}
	for _, r := range e.outputs {
		share := kept
		if e.cfg.Delivered.has(r.spec.Name) {
			// Read again after a stop that left it unacknowledged: this output has some
			// of it already. Those count as delivered by it, should this batch be left
			// unacknowledged again (another reload while the other output is still down).
			var had Batch
			share, had = e.cfg.Delivered.without(r.spec.Name, share)
			if len(had) > 0 {
				t.delivered(r.spec.Name, had)
			}
		}
		if len(r.spec.Filters) > 0 {
			base := share
			share = make(Batch, 0, len(base))
			for _, ev := range base {
				c := ev.Clone()
				if r.spec.Filters.Keep(c, e.obs) {
					share = append(share, c)
				}
			}
		}
		if len(share) == 0 {
			continue
		}
		t.add()
		done := t.done
		if t.record != nil {
			name, events := r.spec.Name, share
			done = func(err error) {
				if err == nil {
					t.delivered(name, events)
				}
				t.done(err)
			}
		}
		select {
		case r.in <- job{events: share, done: done}:
		case <-ctx.Done():
			t.done(ctx.Err())
		}
	}
	t.done(nil)
}

type batchAck struct {
	mu      sync.Mutex
	pending int
	err     error
	ack     AckFunc
	onDone  func(error)

	record *Delivered       // where shares delivered of an unacknowledged batch go
	shares []deliveredShare // shares delivered so far, when record is set
}

type deliveredShare struct {
	output string
	events Batch
}

func (b *batchAck) delivered(output string, events Batch) {
	b.mu.Lock()
	b.shares = append(b.shares, deliveredShare{output, events})
	b.mu.Unlock()
}

func (b *batchAck) add() {
	b.mu.Lock()
	b.pending++
	b.mu.Unlock()
}

func (b *batchAck) done(err error) {
	b.mu.Lock()
	if err != nil && b.err == nil {
		b.err = err
	}
	b.pending--
	last := b.pending == 0
	b.mu.Unlock()
	if last && b.err != nil {
		// The batch will be read again: remember who has which of its events.
		for _, s := range b.shares {
			b.record.record(s.output, s.events)
		}
	}
	if last {
		b.ack(b.err)
		if b.onDone != nil {
			b.onDone(b.err)
		}
	}
}

type job struct {
	events Batch
	done   func(error)
}

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
