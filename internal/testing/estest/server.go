// Package estest is an in-process stand-in for an Elasticsearch or OpenSearch node, for
// tests. It answers as the Flavor it is given (Elasticsearch 7.17, 8 or 9, OpenSearch 1
// or 2: GET / as each does, the X-Elastic-Product header only from Elasticsearch 7.14,
// `flattened` only on Elasticsearch, `flat_object` only on OpenSearch 2.7+), can require
// AWS SigV4 signatures (SigV4), and enforces index mappings as the document parser does
// (mapping.go). It speaks the parts of the REST API an audit shipper uses the way the
// Bulk API reference documents them: NDJSON `index`, `create` and `delete` actions (with
// _index from the line or the path, _id given or generated), per-item results with
// _index, _id, status, result and error{type,reason,index}, the top-level `errors` flag,
// 409 version_conflict_engine_exception on a create of an existing _id, gzip request
// bodies, `_count`, `_mget`, composable index templates and data streams. Faults can be
// switched on at run time: whole-request 429s (with Retry-After), per-item 429s, 503s and
// 400s at a rate, slow answers, dropped connections and downtime. Fault decisions are a
// hash of the seed and the document (or request sequence number), so a run is
// repeatable however requests interleave.
package estest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Faults are the misbehaviours the server can be told to show. Rates are in [0, 1].
type Faults struct {
	// RequestReject429Rate answers whole bulk requests with 429
	// es_rejected_execution_exception, before indexing anything.
	RequestReject429Rate float64
	// RetryAfter, when positive, is sent (in whole seconds, at least 1) with those 429s.
	RetryAfter time.Duration
	// Item429Rate rejects single bulk items with 429 es_rejected_execution_exception; the
	// decision is made afresh for each attempt at a document.
	Item429Rate float64
	// Item503Rate fails single items with 503 unavailable_shards_exception, per attempt.
	Item503Rate float64
	// Item400Rate rejects documents for good with 400 mapper_parsing_exception; the
	// decision depends on the document id only, so a retry is rejected again.
	Item400Rate float64
	// RejectField rejects any document with this top-level field with 400
	// mapper_parsing_exception, as a mapping conflict would.
	RejectField string
	// SlowRate delays that share of bulk answers by SlowDelay.
	SlowRate  float64
	SlowDelay time.Duration
	// DropRate closes the connection of that share of bulk requests without an answer,
	// before indexing anything.
	DropRate float64
	// LostAnswerRate indexes that share of bulk requests and then closes the connection
	// without an answer, so the client must replay items that are already stored.
	LostAnswerRate float64
	// MaxRequestBytes, when positive, answers bulk bodies larger than this (after
	// decompression) with 413, as http.max_content_length or a proxy does.
	MaxRequestBytes int
}

// Stats counts what the server did.
type Stats struct {
	Requests        int
	BulkRequests    int
	Rejected429     int // whole bulk requests
	ItemsCreated    int
	ItemsUpdated    int
	ItemsDeleted    int
	Conflicts       int
	MappingRejected int // items rejected by the index's mapping
	Signed          int // requests with a valid SigV4 signature
	BadSignature    int // requests refused for a missing or wrong signature
	Item429         int
	Item503         int
	Item400         int
	Dropped         int
	Slowed          int
	GzipRequests    int
	TemplatesPut    int
	BadBulkRequests int
	TooLarge        int
}

// Flavor is the distribution and version the server answers as.
type Flavor struct {
	// Distribution is "elasticsearch" (the default) or "opensearch".
	Distribution string
	// Version is the version number GET / reports, e.g. "8.19.0".
	Version string
}

// The flavors the tests use: the versions an audit shipper meets in the field.
var (
	Elasticsearch717 = Flavor{"elasticsearch", "7.17.25"}
	Elasticsearch8   = Flavor{"elasticsearch", "8.19.0"}
	Elasticsearch9   = Flavor{"elasticsearch", "9.1.5"}
	OpenSearch1      = Flavor{"opensearch", "1.3.20"}
	OpenSearch26     = Flavor{"opensearch", "2.6.0"}
	OpenSearch2      = Flavor{"opensearch", "2.19.1"}
)

func (f Flavor) openSearch() bool { return f.Distribution == "opensearch" }

// atLeast reports whether the version is major.minor or later.
func (f Flavor) atLeast(major, minor int) bool {
	parts := strings.SplitN(f.Version, ".", 3)
	ma, _ := strconv.Atoi(parts[0])
	mi := 0
	if len(parts) > 1 {
		mi, _ = strconv.Atoi(parts[1])
	}
	return ma > major || (ma == major && mi >= minor)
}

// hasFlattened: Elasticsearch has had `flattened` since 7.3; OpenSearch never.
func (f Flavor) hasFlattened() bool { return !f.openSearch() && f.atLeast(7, 3) }

// hasFlatObject: OpenSearch has had `flat_object` since 2.7.
func (f Flavor) hasFlatObject() bool { return f.openSearch() && f.atLeast(2, 7) }

// Options configure a server.
type Options struct {
	// Seed makes fault decisions repeatable.
	Seed uint64
	// Faults active from the start.
	Faults Faults
	// Flavor is what the server answers as; the zero value is Elasticsearch8.
	Flavor Flavor
	// SigV4, when set, requires every request to carry a valid AWS Signature Version 4
	// for these credentials, as Amazon OpenSearch Service does.
	SigV4 *SigV4
}

// Server is a running fake Elasticsearch node on 127.0.0.1.
type Server struct {
	// URL is http://127.0.0.1:PORT; it stays the same across Down and Up.
	URL  string
	addr string
	seed uint64
	srv  *http.Server

	serving sync.WaitGroup
	closed  chan struct{}

	mu        sync.Mutex
	ln        net.Listener
	conns     map[net.Conn]struct{}
	down      bool
	faults    Faults
	reqSeq    uint64
	autoID    uint64
	seqNo     int64
	flavor    Flavor
	sigv4     *SigV4
	indices   map[string]*index
	templates map[string]json.RawMessage
	attempts  map[string]int
	writes    map[string]int
	stats     Stats
}

type index struct {
	mapping    *mapping
	docs       map[string]*document
	dataStream bool
	created    time.Time
}

type document struct {
	source  json.RawMessage
	version int
}

// Start listens on 127.0.0.1 on a free port and serves until Close.
func Start(opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("estest: listen: %w", err)
	}
	s := &Server{
		addr:      ln.Addr().String(),
		seed:      opts.Seed,
		closed:    make(chan struct{}),
		conns:     map[net.Conn]struct{}{},
		faults:    opts.Faults,
		flavor:    opts.Flavor,
		sigv4:     opts.SigV4,
		indices:   map[string]*index{},
		templates: map[string]json.RawMessage{},
		attempts:  map[string]int{},
		writes:    map[string]int{},
	}
	if s.flavor.Distribution == "" {
		s.flavor = Elasticsearch8
	}
	s.URL = "http://" + s.addr
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         s.trackConn,
	}
	s.serve(ln)
	return s, nil
}

func (s *Server) serve(ln net.Listener) {
	s.ln = ln
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		_ = s.srv.Serve(ln)
	}()
}

func (s *Server) trackConn(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case http.StateNew:
		s.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
	}
}

// Close stops the server and waits for it.
func (s *Server) Close() {
	select {
	case <-s.closed:
		return
	default:
	}
	close(s.closed)
	_ = s.srv.Close()
	s.serving.Wait()
}

// Down takes the node off the network: connections are refused and open ones closed,
// as when the process dies.
func (s *Server) Down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return
	}
	s.down = true
	_ = s.ln.Close()
	for c := range s.conns {
		_ = c.Close()
	}
}

// Up brings the node back on the same address.
func (s *Server) Up() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.down {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("estest: listen again on %s: %w", s.addr, err)
	}
	s.down = false
	s.serve(ln)
	return nil
}

// SetFaults replaces the active faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Count is the number of documents in the indices or data streams matching pattern
// (comma-separated names, * wildcards).
func (s *Server) Count(pattern string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, _ := s.countLocked(pattern)
	return n
}

// Docs returns the sources of the documents in name, by _id.
func (s *Server) Docs(name string) map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]json.RawMessage{}
	if ix := s.indices[name]; ix != nil {
		for id, d := range ix.docs {
			out[id] = d.source
		}
	}
	return out
}

// Replace overwrites the source of an existing document in name (an index or data
// stream), as something other than the shipper could; it reports whether there was one.
func (s *Server) Replace(name, id string, source json.RawMessage) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[name]
	if ix == nil || ix.docs[id] == nil {
		return false
	}
	ix.docs[id].source = append(json.RawMessage(nil), source...)
	ix.docs[id].version++
	return true
}

// Indices lists the index and data stream names that exist.
func (s *Server) Indices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.indices))
	for n := range s.indices {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Writes returns, for every "index/_id" ever written, how many times an index or create
// action stored it: exactly-once delivery means 1 for each.
func (s *Server) Writes() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.writes))
	for k, v := range s.writes {
		out[k] = v
	}
	return out
}

// Attempts returns, for every "index/_id", how many bulk items named it.
func (s *Server) Attempts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.attempts))
	for k, v := range s.attempts {
		out[k] = v
	}
	return out
}

// Template returns an installed index template's body.
func (s *Server) Template(name string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.templates[name]
	return t, ok
}

// WouldReject400 reports whether Item400Rate rejects the document id in index.
func (s *Server) WouldReject400(indexName, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return chance(s.hash("400", indexName, id), s.faults.Item400Rate)
}

// WaitBulk blocks until the server has received at least n bulk requests or ctx ends;
// it lets a test inject the next fault once an agent is making progress.
func (s *Server) WaitBulk(ctx context.Context, n int) error {
	for {
		if s.Stats().BulkRequests >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
