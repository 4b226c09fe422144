package pipeline

// Batch is a group of events read together from one input.
type Batch []*Event

// Bytes returns the input bytes the batch's events came from.
func (b Batch) Bytes() int {
	n := 0
	for _, e := range b {
		n += e.InBytes
	}
	return n
}

// OutBytes returns the size of the batch's events as written, one NDJSON line each
// (newline included, before any compression or envelope an output adds): what leaves the
// agent, against Bytes, what came in. A settled event costs nothing to measure; one a
// per-output filter changed since is encoded once more.
func (b Batch) OutBytes() int {
	n := 0
	var scratch []byte
	for _, e := range b {
		if raw := e.Raw(); raw != nil {
			n += len(raw) + 1
			continue
		}
		var err error
		if scratch, err = e.AppendJSON(scratch[:0]); err == nil {
			n += len(scratch) + 1
		}
	}
	return n
}
