package elasticsearch

import (
	"encoding/json"
	"sync"

	"github.com/auditship/auditship/internal/deadletter"
)

// deadLetter is one line of the dead-letter file (deadletter.Entry) and the event's
// index in its batch.
type deadLetter struct {
	pos int // the event's index in its batch

	Time      string          `json:"time"`
	Output    string          `json:"output"`
	Index     string          `json:"_index,omitempty"`
	ID        string          `json:"_id,omitempty"`
	Status    int             `json:"status,omitempty"`
	ErrorType string          `json:"error_type,omitempty"`
	Reason    string          `json:"reason"`
	Event     json.RawMessage `json:"event"`
}

// deadLetterFile appends rejected events to the shared dead-letter file
// (internal/deadletter). A batch is acknowledged only after its dead letters are synced,
// so a crash cannot lose them.
type deadLetterFile struct {
	path string
	once sync.Once
	file *deadletter.File
}

func (d *deadLetterFile) write(entries []deadLetter) error {
	d.once.Do(func() { d.file = deadletter.New(d.path) })
	out := make([]deadletter.Entry, len(entries))
	for i, e := range entries {
		out[i] = deadletter.Entry{Time: e.Time, Output: e.Output, Index: e.Index, ID: e.ID,
			Status: e.Status, ErrorType: e.ErrorType, Reason: e.Reason, Event: e.Event}
	}
	return d.file.Write(out)
}
