package elasticsearch

import "encoding/json"

// deadLetter is one line of the dead-letter file the engine writes for this output
// (internal/deadletter.Entry, the format docs/elasticsearch.md documents), as the tests
// read it back.
type deadLetter struct {
	Time      string          `json:"time"`
	Output    string          `json:"output"`
	Index     string          `json:"_index,omitempty"`
	ID        string          `json:"_id,omitempty"`
	Status    int             `json:"status,omitempty"`
	ErrorType string          `json:"error_type,omitempty"`
	Reason    string          `json:"reason"`
	Event     json.RawMessage `json:"event"`
}
