package decode

import (
	"runtime"
	"sync"

	"github.com/auditship/auditship/pipeline"
)

// Line is one line of a batch waiting to be decoded, then its result. Off is where the
// line starts in its source, for the caller's warnings; Decode leaves it alone.
type Line struct {
	Off    int64
	Bytes  []byte
	Events []*pipeline.Event
	Err    error
}

// batchWorkers bounds the goroutines one batch is decoded with: decoding is most of the
// agent's work, and the batch's lines are independent.
const batchWorkers = 4

// minLinesPerWorker is the share of a batch below which another goroutine costs more
// than it saves.
const minLinesPerWorker = 32

// DecodeBatch decodes every line with dec, in parallel on up to GOMAXPROCS cores (at most
// batchWorkers) for a batch big enough to be worth it. Results stay in line order, each in
// its Line; dec must be safe for concurrent use (every Decoder of this package is).
func DecodeBatch(dec Decoder, lines []Line) {
	workers := min(runtime.GOMAXPROCS(0), batchWorkers, len(lines)/minLinesPerWorker)
	if workers <= 1 {
		for i := range lines {
			lines[i].Events, lines[i].Err = dec.Decode(lines[i].Bytes)
		}
		return
	}
	var wg sync.WaitGroup
	per := (len(lines) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		part := lines[min(w*per, len(lines)):min((w+1)*per, len(lines))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range part {
				part[i].Events, part[i].Err = dec.Decode(part[i].Bytes)
			}
		}()
	}
	wg.Wait()
}
