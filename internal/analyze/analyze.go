package analyze

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"

	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/pipeline"
)

// MaxGroups bounds the groups one analysis holds, so memory stays flat whatever the input:
// past it, events of new groups are counted in the group "(other)" of their user class.
const MaxGroups = 20000

// maxLine is the longest line analysed; longer lines are counted as over-long, as the
// file input's max_line_bytes would skip them.
const maxLine = 64 << 20

// Key identifies a group.
type Key struct {
	UserClass      string `json:"user_class"`
	User           string `json:"user"`
	Verb           string `json:"verb"`
	Resource       string `json:"resource"`
	NamespaceClass string `json:"namespace_class"`
	Level          string `json:"level"`
	Stage          string `json:"stage"`
}

// Group is what the events of one key cost. Bytes are input bytes (each line's bytes and
// its newline, shared among the events of a multi-event line); BodyBytes are the bytes of
// requestObject and responseObject, ResponseBytes of responseObject alone, and
// ManagedFieldsBytes of metadata.managedFields inside the bodies: what lowering the level
// or omitting managedFields would save.
type Group struct {
	Key
	Events             int64            `json:"events"`
	Bytes              int64            `json:"bytes"`
	Share              float64          `json:"share"`
	BodyBytes          int64            `json:"body_bytes"`
	ResponseBytes      int64            `json:"response_bytes"`
	ManagedFieldsBytes int64            `json:"managed_fields_bytes"`
	Signal             bool             `json:"signal"`
	SignalEvents       int64            `json:"signal_events"`
	Signals            map[string]int64 `json:"signals,omitempty"`
	// Write is the verb class (the suggestions price writes and reads differently).
	Write bool `json:"-"`
}

// Report is the result of an analysis. The groups' bytes add up to BytesIn, invalid and
// over-long lines included (as groups of their own).
type Report struct {
	BytesIn  int64 `json:"bytes_in"`
	EventsIn int64 `json:"events_in"`
	Lines    int64 `json:"lines"`
	Invalid  int64 `json:"invalid_lines"`
	OverLong int64 `json:"over_long_lines"`
	// LongestLine is the size of the longest analysed line, newline included (over-long
	// lines aside): the emitted config's max_line_bytes covers it.
	LongestLine int64 `json:"longest_line_bytes"`
	// NULBytes are the bytes of NUL runs, skipped as the file input skips them.
	NULBytes    int64            `json:"nul_bytes"`
	Signals     map[string]int64 `json:"signals"`
	Groups      []Group          `json:"groups"`
	Suggestions []Suggestion     `json:"suggestions"`
	Files       []string         `json:"files"`
}

// Analyzer streams lines into groups. Add may be called from one goroutine only; Run
// parallelises decoding itself.
type Analyzer struct {
	dec     decode.Decoder
	workers int
	agg     *aggregate
}

// New returns an analyzer for lines of format (audit, kube-audit-rest or auto).
func New(format string) (*Analyzer, error) {
	dec, err := decode.New(format)
	if err != nil {
		return nil, err
	}
	w := runtime.GOMAXPROCS(0)
	if w > 4 {
		w = 4
	}
	return &Analyzer{dec: dec, workers: w, agg: newAggregate()}, nil
}

type aggregate struct {
	groups                                      map[Key]*Group
	perClass                                    map[string]int // groups per user class, for the cap
	bytesIn, eventsIn, lines, invalid, overLong int64
	longest, nuls                               int64
	signals                                     map[string]int64
}

func newAggregate() *aggregate {
	return &aggregate{groups: map[Key]*Group{}, perClass: map[string]int{}, signals: map[string]int64{}}
}

// Run reads every line of r (gzip is detected by its magic bytes) and adds it.
func (a *Analyzer) Run(r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<20)
	compressed := false
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<20)
		compressed = true
	}
	// Lines go to workers in chunks; each worker keeps its own aggregate, merged at the
	// end, so nothing is shared per event.
	type chunk struct{ lines [][]byte }
	work := make(chan chunk, a.workers*2)
	parts := make([]*aggregate, a.workers)
	var wg sync.WaitGroup
	for i := range parts {
		parts[i] = newAggregate()
		wg.Add(1)
		go func(agg *aggregate) {
			defer wg.Done()
			var sig []string
			for c := range work {
				for _, l := range c.lines {
					sig = agg.addLine(a.dec, l, sig)
				}
			}
		}(parts[i])
	}
	var readErr error
	cur := chunk{}
	size := 0
	for {
		line, err := ReadLine(br, maxLine)
		if errors.Is(err, ErrLineTooLong) {
			a.agg.overLong++
			a.agg.lines++
			a.agg.bytesIn += lineBytes(err)
			a.agg.add(Key{UserClass: "(over-long line)"}, lineBytes(err), nil, nil)
			continue
		}
		if len(line) > 0 || err == nil { // an empty line still has its newline
			cur.lines = append(cur.lines, line)
			size += len(line)
			if size >= 1<<20 || len(cur.lines) >= 512 {
				work <- cur
				cur, size = chunk{}, 0
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			if compressed { // "unexpected EOF" alone does not say the .gz is truncated
				readErr = fmt.Errorf("gzip: %w", err)
			}
			break
		}
	}
	if len(cur.lines) > 0 {
		work <- cur
	}
	close(work)
	wg.Wait()
	for _, p := range parts {
		a.agg.merge(p)
	}
	return readErr
}

// addLine adds one line (without its newline, which it counts). A run of NUL bytes ends
// a line as a newline does and is skipped, as the file input reads it (inputs/file: a
// writer that kept its offset after a copytruncate leaves such runs before the next
// event): the NULs are a group of their own, the lines between them are decoded.
func (agg *aggregate) addLine(dec decode.Decoder, line []byte, sig []string) []string {
	agg.bytesIn += int64(len(line)) + 1
	agg.longest = max(agg.longest, int64(len(line))+1)
	if bytes.IndexByte(line, 0) < 0 {
		return agg.addFrame(dec, line, int64(len(line))+1, sig)
	}
	frames := bytes.FieldsFunc(line, func(r rune) bool { return r == 0 })
	nuls := int64(len(line))
	for _, f := range frames {
		nuls -= int64(len(f))
	}
	ends := line[len(line)-1] != 0 // the newline belongs to the last frame, else to the NULs
	if !ends {
		nuls++
	}
	agg.nuls += nuls
	agg.add(Key{UserClass: "(NUL bytes)"}, nuls, nil, nil)
	for i, f := range frames {
		n := int64(len(f))
		if ends && i == len(frames)-1 {
			n++
		}
		sig = agg.addFrame(dec, f, n, sig)
	}
	return sig
}

// addFrame decodes one line of n input bytes and adds its events.
func (agg *aggregate) addFrame(dec decode.Decoder, line []byte, n int64, sig []string) []string {
	agg.lines++
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 {
		agg.add(Key{UserClass: "(blank line)"}, n, nil, nil)
		return sig
	}
	evs, err := dec.Decode(line)
	if err != nil || len(evs) == 0 {
		agg.invalid++
		agg.add(Key{UserClass: "(invalid line)"}, n, nil, nil)
		return sig
	}
	// A line's bytes are shared among its events by their own sizes; the last takes the
	// remainder, so the groups add up to the input exactly.
	left := n
	for i, ev := range evs {
		share := int64(ev.InBytes)
		if i == len(evs)-1 || share > left {
			share = left
		}
		left -= share
		agg.eventsIn++
		at := Read(ev)
		sig = at.Signals(sig[:0])
		k := Key{
			UserClass: at.UserClass, User: at.User, Verb: at.Verb, Resource: at.ResourceName(),
			NamespaceClass: at.NamespaceClass(), Level: at.Level, Stage: at.Stage,
		}
		g := agg.add(k, share, sig, ev)
		g.Write = at.Write()
	}
	return sig
}

// slot returns the group that counts key k: its own, or past the cap the "(other)" group
// of its user class (created empty when new).
func (agg *aggregate) slot(k Key) *Group {
	g, ok := agg.groups[k]
	if ok {
		return g
	}
	if agg.perClass[k.UserClass] >= MaxGroups/8 && len(agg.groups) >= MaxGroups/2 || len(agg.groups) >= MaxGroups {
		k = Key{UserClass: k.UserClass, User: "(other)", Verb: "(other)", Resource: "(other)", NamespaceClass: "(other)", Level: "(other)", Stage: "(other)"}
		if g, ok = agg.groups[k]; ok {
			return g
		}
	}
	g = &Group{Key: k}
	agg.groups[k] = g
	agg.perClass[k.UserClass]++
	return g
}

// add counts one event (or line) of n bytes in group k.
func (agg *aggregate) add(k Key, n int64, sig []string, ev *pipeline.Event) *Group {
	g := agg.slot(k)
	g.Bytes += n
	if ev == nil {
		return g
	}
	g.Events++
	req := int64(ev.PathSize("requestObject"))
	resp := int64(ev.PathSize("responseObject"))
	g.BodyBytes += req + resp
	g.ResponseBytes += resp
	if req > 0 {
		g.ManagedFieldsBytes += int64(ev.PathSize("requestObject", "metadata", "managedFields"))
	}
	if resp > 0 {
		g.ManagedFieldsBytes += int64(ev.PathSize("responseObject", "metadata", "managedFields"))
	}
	if len(sig) > 0 {
		g.Signal = true
		g.SignalEvents++
		if g.Signals == nil {
			g.Signals = map[string]int64{}
		}
		for _, s := range sig {
			g.Signals[s]++
			agg.signals[s]++
		}
	}
	return g
}

func (agg *aggregate) merge(o *aggregate) {
	agg.bytesIn += o.bytesIn
	agg.eventsIn += o.eventsIn
	agg.lines += o.lines
	agg.invalid += o.invalid
	agg.overLong += o.overLong
	agg.longest = max(agg.longest, o.longest)
	agg.nuls += o.nuls
	for s, n := range o.signals {
		agg.signals[s] += n
	}
	// Through slot, so the cap holds for the merged groups (workers and files) as well;
	// largest first, so what folds into "(other)" past the cap is the small groups.
	incoming := make([]*Group, 0, len(o.groups))
	for _, og := range o.groups {
		incoming = append(incoming, og)
	}
	sort.Slice(incoming, func(i, j int) bool {
		if incoming[i].Bytes != incoming[j].Bytes {
			return incoming[i].Bytes > incoming[j].Bytes
		}
		return lessKey(incoming[i].Key, incoming[j].Key)
	})
	for _, og := range incoming {
		g := agg.slot(og.Key)
		g.Events += og.Events
		g.Bytes += og.Bytes
		g.BodyBytes += og.BodyBytes
		g.ResponseBytes += og.ResponseBytes
		g.ManagedFieldsBytes += og.ManagedFieldsBytes
		g.SignalEvents += og.SignalEvents
		g.Signal = g.Signal || og.Signal
		g.Write = g.Write || og.Write
		for s, n := range og.Signals {
			if g.Signals == nil {
				g.Signals = map[string]int64{}
			}
			g.Signals[s] += n
		}
	}
}

// Report returns the groups, largest first, and the suggestions.
func (a *Analyzer) Report() *Report {
	agg := a.agg
	r := &Report{
		BytesIn: agg.bytesIn, EventsIn: agg.eventsIn, Lines: agg.lines,
		Invalid: agg.invalid, OverLong: agg.overLong, LongestLine: agg.longest, NULBytes: agg.nuls, Signals: map[string]int64{},
	}
	for _, s := range AllSignals {
		r.Signals[s] = agg.signals[s]
	}
	for _, g := range agg.groups {
		gg := *g
		if r.BytesIn > 0 {
			gg.Share = float64(gg.Bytes) / float64(r.BytesIn)
		}
		r.Groups = append(r.Groups, gg)
	}
	sort.Slice(r.Groups, func(i, j int) bool {
		if r.Groups[i].Bytes != r.Groups[j].Bytes {
			return r.Groups[i].Bytes > r.Groups[j].Bytes
		}
		return lessKey(r.Groups[i].Key, r.Groups[j].Key)
	})
	r.Suggestions = suggest(r)
	return r
}

func lessKey(a, b Key) bool {
	as := []string{a.UserClass, a.User, a.Verb, a.Resource, a.NamespaceClass, a.Level, a.Stage}
	bs := []string{b.UserClass, b.User, b.Verb, b.Resource, b.NamespaceClass, b.Level, b.Stage}
	for i := range as {
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return false
}
