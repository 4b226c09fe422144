// Package hectest is a Splunk HTTP Event Collector for tests: it answers
// /services/collector/event and /services/collector/ack as the HEC REST reference
// documents (status codes 0-14 with their HTTP statuses, ackId, {"acks":{"0":true}}),
// and can be told to misbehave: 503 storms, 429 with Retry-After, lost acks, one event
// of a batch refused. Like Splunk, it parses a whole request before indexing any of it:
// a request answered 400 ("invalid-event-number": N, counted from 0) indexed nothing.
package hectest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
)

// HEC status codes and texts, from Splunk's "Troubleshoot HTTP Event Collector" table.
const (
	CodeSuccess        = 0
	CodeTokenDisabled  = 1
	CodeTokenRequired  = 2
	CodeInvalidAuth    = 3
	CodeInvalidToken   = 4
	CodeNoData         = 5
	CodeInvalidFormat  = 6
	CodeIncorrectIndex = 7
	CodeServerBusy     = 9
	CodeChannelMissing = 10
	CodeEventRequired  = 12
	CodeEventBlank     = 13
	CodeAckDisabled    = 14
)

var texts = map[int]string{
	CodeSuccess: "Success", CodeTokenDisabled: "Token disabled", CodeTokenRequired: "Token is required",
	CodeInvalidAuth: "Invalid authorization", CodeInvalidToken: "Invalid token", CodeNoData: "No data",
	CodeInvalidFormat: "Invalid data format", CodeIncorrectIndex: "Incorrect index",
	CodeServerBusy: "Server is busy", CodeChannelMissing: "Data channel is missing",
	CodeEventRequired: "Event field is required", CodeEventBlank: "Event field cannot be blank",
	CodeAckDisabled: "ACK is disabled",
}

var statuses = map[int]int{
	CodeSuccess: 200, CodeTokenDisabled: 403, CodeTokenRequired: 401, CodeInvalidAuth: 401,
	CodeInvalidToken: 403, CodeNoData: 400, CodeInvalidFormat: 400, CodeIncorrectIndex: 400,
	CodeServerBusy: 503, CodeChannelMissing: 400, CodeEventRequired: 400, CodeEventBlank: 400,
	CodeAckDisabled: 400,
}

// Envelope is one indexed event as it arrived.
type Envelope struct {
	Time       json.Number       `json:"time"`
	Host       string            `json:"host"`
	Source     string            `json:"source"`
	Sourcetype string            `json:"sourcetype"`
	Index      string            `json:"index"`
	Fields     map[string]string `json:"fields"`
	Event      json.RawMessage   `json:"event"`
	Channel    string            `json:"-"`
}

// Server is a running HEC. Set its fields before the first request; the fault fields
// may be changed at any time under Lock/Unlock.
type Server struct {
	*httptest.Server
	// Token is the one valid token; DisabledToken, when set, is answered 403 code 1.
	Token         string
	DisabledToken string
	// Ack turns indexer acknowledgement on for the token.
	Ack bool
	// Indexes, when set, are the only indexes the token may write (else code 7).
	Indexes []string

	mu sync.Mutex
	// Busy answers the next Busy event requests 503 code 9.
	Busy int
	// TooMany answers the next TooMany event requests 429 with Retry-After: RetryAfter.
	TooMany    int
	RetryAfter int
	// LoseAcks: the next LoseAcks acknowledged requests are indexed but their ackId
	// never turns true (an indexer that restarted before replying, an expired ack).
	LoseAcks int
	// Reject, when set, refuses an event whose raw envelope it returns true for: the
	// request is answered 400 code 6 with its invalid-event-number.
	Reject func(envelope []byte) bool

	events   []Envelope
	requests int
	gzipped  int
	channels map[string]*channel
}

type channel struct {
	next    int
	pending map[int]bool // ackId -> will become true
}

// Start starts a server on 127.0.0.1 accepting token.
func Start(token string) *Server {
	s := &Server{Token: token, channels: map[string]*channel{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/services/collector/event", s.event)
	mux.HandleFunc("/services/collector/event/1.0", s.event)
	mux.HandleFunc("/services/collector", s.event)
	mux.HandleFunc("/services/collector/ack", s.ack)
	mux.HandleFunc("/services/collector/health", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, 200, map[string]any{"text": "HEC is healthy", "code": 17})
	})
	s.Server = httptest.NewServer(mux)
	return s
}

// Lock and Unlock guard the fault fields.
func (s *Server) Lock()   { s.mu.Lock() }
func (s *Server) Unlock() { s.mu.Unlock() }

// Events returns a copy of every indexed envelope, in arrival order.
func (s *Server) Events() []Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Envelope(nil), s.events...)
}

// Requests returns how many event requests arrived and how many were gzipped.
func (s *Server) Requests() (total, gzipped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.gzipped
}

func reply(w http.ResponseWriter, status int, body map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func replyCode(w http.ResponseWriter, code int, extra map[string]any) {
	body := map[string]any{"text": texts[code], "code": code}
	for k, v := range extra {
		body[k] = v
	}
	reply(w, statuses[code], body)
}

// auth applies HEC's token rules: "Authorization: Splunk <token>".
func (s *Server) auth(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	switch {
	case h == "":
		replyCode(w, CodeTokenRequired, nil)
	case !strings.HasPrefix(h, "Splunk "):
		replyCode(w, CodeInvalidAuth, nil)
	case s.DisabledToken != "" && h == "Splunk "+s.DisabledToken:
		replyCode(w, CodeTokenDisabled, nil)
	case h != "Splunk "+s.Token:
		replyCode(w, CodeInvalidToken, nil)
	default:
		return true
	}
	return false
}

func channelOf(r *http.Request) string {
	if c := r.Header.Get("X-Splunk-Request-Channel"); c != "" {
		return c
	}
	return r.URL.Query().Get("channel")
}

// event answers /services/collector/event: the body (gzip or not) is a run of HEC
// envelopes, all indexed or none, then acknowledged on the request's channel if Ack is on.
func (s *Server) event(w http.ResponseWriter, r *http.Request) {
	if !s.auth(w, r) {
		return
	}
	gz := r.Header.Get("Content-Encoding") == "gzip"
	data, err := readBody(r, gz)
	if err != nil {
		replyCode(w, CodeInvalidFormat, map[string]any{"invalid-event-number": 0})
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if gz {
		s.gzipped++
	}
	if s.throttled(w) {
		return
	}
	ch := channelOf(r)
	if s.Ack && ch == "" {
		replyCode(w, CodeChannelMissing, nil)
		return
	}
	batch, code, n := s.parse(data, ch)
	if code != CodeSuccess {
		replyCode(w, code, map[string]any{"invalid-event-number": n})
		return
	}
	if len(batch) == 0 {
		replyCode(w, CodeNoData, nil)
		return
	}
	s.events = append(s.events, batch...)
	if !s.Ack {
		replyCode(w, CodeSuccess, nil)
		return
	}
	replyCode(w, CodeSuccess, map[string]any{"ackId": s.ackID(ch)})
}

// readBody reads a request's body, gunzipping it when gz.
func readBody(r *http.Request, gz bool) ([]byte, error) {
	var body io.Reader = r.Body
	if gz {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		body = zr
	}
	return io.ReadAll(body)
}

// throttled answers the request busy (503) or 429 with Retry-After while the faults Busy
// and TooMany last, counting them down. The caller holds s.mu.
func (s *Server) throttled(w http.ResponseWriter) bool {
	if s.Busy > 0 {
		s.Busy--
		replyCode(w, CodeServerBusy, nil)
		return true
	}
	if s.TooMany > 0 {
		s.TooMany--
		w.Header().Set("Retry-After", strconv.Itoa(s.RetryAfter))
		reply(w, http.StatusTooManyRequests, map[string]any{"text": "Too Many Requests", "code": CodeServerBusy})
		return true
	}
	return false
}

// parse decodes every envelope of data before any is indexed (Splunk: events_processed=0
// on a 400): on the first bad one it returns its HEC code and number n, else CodeSuccess
// and the envelopes, each marked with channel ch. The caller holds s.mu.
func (s *Server) parse(data []byte, ch string) ([]Envelope, int, int) {
	var batch []Envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for n := 0; ; n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return nil, CodeInvalidFormat, n
		}
		var env Envelope
		if err := json.Unmarshal(raw, &env); err != nil {
			return nil, CodeInvalidFormat, n
		}
		switch {
		case env.Event == nil:
			return nil, CodeEventRequired, n
		case string(env.Event) == `""` || string(env.Event) == "null":
			return nil, CodeEventBlank, n
		case s.Reject != nil && s.Reject(raw):
			return nil, CodeInvalidFormat, n
		case env.Index != "" && len(s.Indexes) > 0 && !contains(s.Indexes, env.Index):
			return nil, CodeIncorrectIndex, n
		}
		env.Channel = ch
		batch = append(batch, env)
	}
	return batch, CodeSuccess, 0
}

// ackID gives the request an ack id on channel ch, pending until queried; with the
// LoseAcks fault on, the id is never acknowledged. The caller holds s.mu.
func (s *Server) ackID(ch string) int {
	c := s.channels[ch]
	if c == nil {
		c = &channel{pending: map[int]bool{}}
		s.channels[ch] = c
	}
	id := c.next
	c.next++
	c.pending[id] = s.LoseAcks == 0
	if s.LoseAcks > 0 {
		s.LoseAcks--
	}
	return id
}

// ack answers an ack status query: {"acks":[0,1]} -> {"acks":{"0":true,"1":false}}. An
// ackId reported true is forgotten, as Splunk does; unknown ids are false.
func (s *Server) ack(w http.ResponseWriter, r *http.Request) {
	if !s.auth(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.Ack {
		replyCode(w, CodeAckDisabled, nil)
		return
	}
	ch := channelOf(r)
	if ch == "" {
		replyCode(w, CodeChannelMissing, nil)
		return
	}
	var q struct {
		Acks []int `json:"acks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
		replyCode(w, CodeInvalidFormat, nil)
		return
	}
	out := map[string]bool{}
	c := s.channels[ch]
	for _, id := range q.Acks {
		ok := c != nil && c.pending[id]
		if ok {
			delete(c.pending, id)
		}
		out[fmt.Sprint(id)] = ok
	}
	reply(w, 200, map[string]any{"acks": out})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
