package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/deadletter"
)

// Rejection is what a destination said about an event it refused for good: the fields of
// its dead letter (internal/deadletter.Entry) that the output knows. An output reports
// it with Reject, for the whole batch or per item in a *BatchError; the engine writes the
// dead letter.
type Rejection struct {
	// Index, ID and Topic say where the event was meant to go (Elasticsearch or Splunk
	// index, document id or record key, Kafka topic); empty where they do not apply.
	Index, ID, Topic string
	// Status is the destination's status for the event: an HTTP status or a Kafka error
	// code; 0 when the output itself refused it (an event it cannot encode).
	Status    int
	ErrorType string
	// Reason is the destination's explanation. It may quote the event's content, so it
	// goes to the dead-letter file only, never to a log or an error's text.
	Reason string
	// Event is the event as it was sent; nil means the event's JSON (its raw bytes when
	// it cannot be encoded).
	Event []byte
}

// Error names the status and type only: Reason may quote the event.
func (r *Rejection) Error() string {
	switch {
	case r.Status != 0 && r.ErrorType != "":
		return fmt.Sprintf("rejected for good (%d %s)", r.Status, r.ErrorType)
	case r.Status != 0:
		return fmt.Sprintf("rejected for good (%d)", r.Status)
	case r.ErrorType != "":
		return fmt.Sprintf("rejected for good (%s)", r.ErrorType)
	}
	return "rejected for good"
}

// Reject returns the Permanent error that reports r: the engine writes the event's dead
// letter from it instead of retrying.
func Reject(r Rejection) error { return Permanent(&r) }

// DeadLetterObserver is implemented by observers that count dead letters
// (auditship_dead_letter_events_total). The count is reported before the write that
// rejected the events returns, so OutputShipped can leave them out.
type DeadLetterObserver interface {
	OutputDeadLettered(output string, events int)
}

// DeadLetters is the delivery step between the engine and an output that handles what the
// output rejects for good: Permanent errors, for the whole batch or per item in a
// *BatchError. With a dead-letter file, each rejected event is written there (NDJSON,
// 0600, fsynced: internal/deadletter) and counted before Write returns, so a batch is
// acknowledged only once its dead letters are on disk; when that write fails, the events
// are reported failed (not Permanent) and retried with the batch, never acknowledged.
// Without a file (an output whose dead_letter_path is empty and has no default), they
// are counted, logged at ERROR without content, and dropped: retrying cannot deliver
// them and must not wedge the pipeline. Other errors pass through unchanged.
type DeadLetters struct {
	Output Output
	// Name is the output's name: the dead letters' `output` member and the metric label.
	Name string
	// File receives the dead letters; nil: none (see above).
	File *deadletter.File
	// Observer counts them; nil: not counted.
	Observer DeadLetterObserver
	Logger   hclog.Logger
}

// Write writes b to the output and handles the events it rejected for good.
func (d *DeadLetters) Write(ctx context.Context, b Batch) error {
	err := d.Output.Write(ctx, b)
	if err == nil {
		return nil
	}
	rejected, failed := rejections(err, len(b))
	if len(rejected) == 0 {
		return err
	}
	if werr := d.handle(b, rejected); werr != nil {
		// Not handled until written: retried with the rest, and so never acknowledged.
		if failed == nil {
			failed = map[int]error{}
		}
		for p := range rejected {
			failed[p] = werr
		}
	}
	switch {
	case len(failed) == 0:
		return nil
	case len(failed) == len(b):
		for _, e := range failed {
			return e
		}
	}
	return &BatchError{Failed: failed}
}

// Close closes the output.
func (d *DeadLetters) Close(ctx context.Context) error { return d.Output.Close(ctx) }

// rejections splits err into the positions rejected for good, each with its error, and
// the failures to retry (nil when there are none).
func rejections(err error, n int) (rejected, failed map[int]error) {
	var be *BatchError
	if errors.As(err, &be) && !IsPermanent(err) {
		for p, e := range be.Failed {
			switch {
			case p < 0 || p >= n:
				continue
			case IsPermanent(e):
				if rejected == nil {
					rejected = map[int]error{}
				}
				rejected[p] = e
			default:
				if failed == nil {
					failed = map[int]error{}
				}
				failed[p] = e
			}
		}
		return rejected, failed
	}
	if !IsPermanent(err) {
		return nil, nil
	}
	rejected = make(map[int]error, n)
	for p := range n {
		rejected[p] = err
	}
	return rejected, nil
}

// handle writes (or, without a file, logs) the dead letters of the rejected positions
// and counts them; an error means none of them is handled.
func (d *DeadLetters) handle(b Batch, rejected map[int]error) error {
	log := d.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	pos := make([]int, 0, len(rejected))
	for p := range rejected {
		pos = append(pos, p)
	}
	sort.Ints(pos) // the file keeps the batch's order
	entries := make([]deadletter.Entry, len(pos))
	for i, p := range pos {
		entries[i] = entry(d.Name, b[p], rejected[p])
	}
	if d.File == nil {
		d.count(len(entries))
		log.Error("output rejected events for good and has no dead_letter_path; events dropped",
			"events", len(entries), "errors", summarize(entries))
		return nil
	}
	if err := d.File.Write(entries); err != nil {
		log.Error("cannot write dead letters; the events will be retried", "events", len(entries), "error", err)
		return fmt.Errorf("dead letters not written, so retried: %w", err)
	}
	d.count(len(entries))
	log.Warn("events rejected for good written to the dead-letter file",
		"events", len(entries), "errors", summarize(entries), "path", d.File.Path)
	return nil
}

func (d *DeadLetters) count(n int) {
	if d.Observer != nil {
		d.Observer.OutputDeadLettered(d.Name, n)
	}
}

// entry is the dead letter of ev, rejected with err: the output's Rejection when it gave
// one, else the error's text as the reason.
func entry(output string, ev *Event, err error) deadletter.Entry {
	e := deadletter.Entry{Output: output}
	var r *Rejection
	if errors.As(err, &r) {
		e.Index, e.ID, e.Topic = r.Index, r.ID, r.Topic
		e.Status, e.ErrorType, e.Reason = r.Status, r.ErrorType, r.Reason
		e.Event = r.Event
	} else {
		e.ErrorType, e.Reason = "rejected", err.Error()
	}
	if e.Event == nil {
		doc, jerr := ev.AppendJSON(nil)
		if jerr != nil {
			doc = ev.Raw()
		}
		e.Event = doc
	}
	return e
}

// summarize counts dead letters by status and type, for a log line without content:
// "400/mapper_parsing_exception x3, 413/request_entity_too_large x1".
func summarize(entries []deadletter.Entry) string {
	counts := map[string]int{}
	for _, e := range entries {
		counts[fmt.Sprintf("%d/%s", e.Status, e.ErrorType)]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s x%d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}
