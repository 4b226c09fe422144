package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
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
