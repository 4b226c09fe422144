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
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"path"
	"regexp"
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

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	// Every answer of Elasticsearch 7.14+ carries this; the Go client refuses a server
	// without it. OpenSearch never sends it.
	if !s.flavor.openSearch() && s.flavor.atLeast(7, 14) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
	}
	s.mu.Lock()
	s.stats.Requests++
	s.mu.Unlock()

	if s.sigv4 != nil {
		body, err := readRaw(r)
		if err == nil {
			err = s.sigv4.verify(r, body, time.Now())
		}
		if err != nil {
			s.bump(func(st *Stats) { st.BadSignature++ })
			// The shape Amazon OpenSearch Service answers with.
			writeJSON(w, http.StatusForbidden, map[string]any{"message": err.Error()})
			return
		}
		s.bump(func(st *Stats) { st.Signed++ })
	}

	p := strings.Trim(r.URL.Path, "/")
	parts := []string{}
	if p != "" {
		parts = strings.Split(p, "/")
	}
	last := ""
	if len(parts) > 0 {
		last = parts[len(parts)-1]
	}
	switch {
	case len(parts) == 0 && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.info(w)
	case last == "_bulk" && len(parts) <= 2 && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		target := ""
		if len(parts) == 2 {
			target = parts[0]
		}
		s.bulk(w, r, target)
	case last == "_mget" && len(parts) <= 2 && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		target := ""
		if len(parts) == 2 {
			target = parts[0]
		}
		s.mget(w, r, target)
	case last == "_count" && len(parts) <= 2 && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		target := "_all"
		if len(parts) == 2 {
			target = parts[0]
		}
		s.count(w, target)
	case last == "_refresh":
		writeJSON(w, http.StatusOK, map[string]any{"_shards": shards()})
	case len(parts) == 2 && parts[0] == "_index_template":
		s.indexTemplate(w, r, parts[1])
	case len(parts) == 1 && r.Method == http.MethodDelete && !strings.HasPrefix(parts[0], "_"):
		s.deleteIndex(w, parts[0])
	default:
		writeError(w, http.StatusBadRequest, "illegal_argument_exception",
			fmt.Sprintf("no handler found for uri [%s] and method [%s]", r.URL.Path, r.Method))
	}
}

// readRaw reads the request body as sent (still compressed) and puts it back for the
// handler.
func readRaw(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

// info answers GET / as the flavor does: OpenSearch names its distribution and has
// its own tagline; Elasticsearch has build_flavor (before 9) and no distribution.
func (s *Server) info(w http.ResponseWriter) {
	version := map[string]any{
		"number":                              s.flavor.Version,
		"build_type":                          "docker",
		"build_hash":                          "0000000000000000000000000000000000000000",
		"build_date":                          "2026-01-01T00:00:00.000000000Z",
		"build_snapshot":                      false,
		"lucene_version":                      "9.12.2",
		"minimum_wire_compatibility_version":  "7.17.0",
		"minimum_index_compatibility_version": "7.0.0",
	}
	tagline := "You Know, for Search"
	switch {
	case s.flavor.openSearch():
		version["distribution"] = "opensearch"
		version["minimum_wire_compatibility_version"] = "7.10.0"
		tagline = "The OpenSearch Project: https://opensearch.org/"
	case !s.flavor.atLeast(9, 0):
		version["build_flavor"] = "default"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name":         "estest",
		"cluster_name": "estest",
		"cluster_uuid": "estest-0000000000000000",
		"version":      version,
		"tagline":      tagline,
	})
}

// backingIndex matches the backing index names bulk answers give for data streams.
var backingIndex = regexp.MustCompile(`^\.ds-(.+)-\d{4}\.\d{2}\.\d{2}-\d{6}$`)

// mget answers _mget with {"docs":[{"_index","_id"}]} or {"ids":[..]} and an index in
// the path.
func (s *Server) mget(w http.ResponseWriter, r *http.Request, pathIndex string) {
	body, err := readBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parse_exception", err.Error())
		return
	}
	var req struct {
		Docs []struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		} `json:"docs"`
		IDs []string `json:"ids"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "x_content_parse_exception", "failed to parse _mget body")
		return
	}
	for _, id := range req.IDs {
		req.Docs = append(req.Docs, struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}{pathIndex, id})
	}
	s.mu.Lock()
	docs := make([]any, len(req.Docs))
	for i, d := range req.Docs {
		name := d.Index
		if name == "" {
			name = pathIndex
		}
		out := map[string]any{"_index": name, "_id": d.ID, "found": false}
		ix := s.indices[name]
		if m := backingIndex.FindStringSubmatch(name); ix == nil && m != nil && s.indices[m[1]] != nil && s.indices[m[1]].dataStream {
			ix = s.indices[m[1]] // a data stream's backing index, as 409s name it
		}
		if ix == nil {
			out = map[string]any{"_index": name, "_id": d.ID, "error": map[string]any{
				"type": "index_not_found_exception", "reason": "no such index [" + name + "]"}}
		} else if doc := ix.docs[d.ID]; doc != nil {
			out["found"], out["_version"], out["_source"] = true, doc.version, doc.source
		}
		docs[i] = out
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, filterPath(map[string]any{"docs": docs}, r.URL.Query().Get("filter_path")))
}

// action is a parsed action-and-metadata line.
type action struct {
	op     string
	index  string
	id     string
	source json.RawMessage
}

func (s *Server) bulk(w http.ResponseWriter, r *http.Request, pathIndex string) {
	body, err := readBody(r)
	s.mu.Lock()
	s.stats.BulkRequests++
	if r.Header.Get("Content-Encoding") == "gzip" {
		s.stats.GzipRequests++
	}
	seq := s.reqSeq
	s.reqSeq++
	f := s.faults
	s.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusBadRequest, "parse_exception", err.Error())
		return
	}

	if f.MaxRequestBytes > 0 && len(body) > f.MaxRequestBytes {
		s.bump(func(st *Stats) { st.TooLarge++ })
		writeError(w, http.StatusRequestEntityTooLarge, "content_too_long_exception",
			fmt.Sprintf("request body is too large: %d > %d bytes", len(body), f.MaxRequestBytes))
		return
	}
	if chance(s.hash("req429", strconv.FormatUint(seq, 10)), f.RequestReject429Rate) {
		s.bump(func(st *Stats) { st.Rejected429++ })
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(f.RetryAfter.Round(time.Second)/time.Second))))
		}
		writeError(w, http.StatusTooManyRequests, "es_rejected_execution_exception",
			"rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=0, max_coordinating_and_primary_bytes=0]")
		return
	}
	if chance(s.hash("drop", strconv.FormatUint(seq, 10)), f.DropRate) {
		s.hangUp(w)
		return
	}
	if chance(s.hash("slow", strconv.FormatUint(seq, 10)), f.SlowRate) && f.SlowDelay > 0 {
		s.bump(func(st *Stats) { st.Slowed++ })
		select {
		case <-time.After(f.SlowDelay):
		case <-r.Context().Done():
			return
		case <-s.closed:
			return
		}
	}

	actions, status, errType, reason := parseBulk(body, pathIndex)
	if status != 0 {
		s.bump(func(st *Stats) { st.BadBulkRequests++ })
		writeError(w, status, errType, reason)
		return
	}
	start := time.Now()
	items := make([]map[string]any, len(actions))
	hasErrors := false
	s.mu.Lock()
	for i, a := range actions {
		res := s.apply(a, f)
		if _, bad := res["error"]; bad {
			hasErrors = true
		}
		items[i] = map[string]any{a.op: res}
	}
	s.mu.Unlock()
	if chance(s.hash("lost", strconv.FormatUint(seq, 10)), f.LostAnswerRate) {
		s.hangUp(w)
		return
	}
	itemsAny := make([]any, len(items))
	for i, it := range items {
		itemsAny[i] = it
	}
	writeJSON(w, http.StatusOK, filterPath(map[string]any{
		"took":   time.Since(start).Milliseconds(),
		"errors": hasErrors,
		"items":  itemsAny,
	}, r.URL.Query().Get("filter_path")))
}

// filterPath keeps only the members filter_path names (comma-separated dotted paths,
// * for any key; arrays are traversed), as Elasticsearch does for every API.
func filterPath(v map[string]any, spec string) map[string]any {
	if spec == "" {
		return v
	}
	out := map[string]any{}
	for _, p := range strings.Split(spec, ",") {
		mergeFiltered(out, v, strings.Split(strings.TrimSpace(p), "."))
	}
	return out
}

func mergeFiltered(dst, src map[string]any, keys []string) {
	for k, val := range src {
		if ok, _ := path.Match(keys[0], k); !ok {
			continue
		}
		if len(keys) == 1 {
			dst[k] = val
			continue
		}
		switch t := val.(type) {
		case map[string]any:
			sub, _ := dst[k].(map[string]any)
			if sub == nil {
				sub = map[string]any{}
			}
			mergeFiltered(sub, t, keys[1:])
			if len(sub) > 0 {
				dst[k] = sub
			}
		case []any:
			arr, _ := dst[k].([]any)
			if arr == nil {
				arr = make([]any, len(t))
			}
			for i, el := range t {
				m, ok := el.(map[string]any)
				if !ok {
					continue
				}
				sub, _ := arr[i].(map[string]any)
				if sub == nil {
					sub = map[string]any{}
				}
				mergeFiltered(sub, m, keys[1:])
				arr[i] = sub
			}
			dst[k] = arr
		}
	}
}

func (s *Server) bump(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// hangUp closes the connection without an answer, as a crashed node or a proxy reset
// does.
func (s *Server) hangUp(w http.ResponseWriter) {
	s.bump(func(st *Stats) { st.Dropped++ })
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("estest: response writer cannot hijack")
	}
	c, _, err := hj.Hijack()
	if err == nil {
		_ = c.Close()
	}
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("request body is not gzip: %w", err)
		}
		defer zr.Close()
		rd = zr
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return b, nil
}

// parseBulk splits an NDJSON bulk body into actions. A malformed body fails the whole
// request, as in Elasticsearch; a non-zero status is that failure.
func parseBulk(body []byte, pathIndex string) ([]action, int, string, string) {
	if len(body) == 0 {
		return nil, http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: no requests added;"
	}
	if body[len(body)-1] != '\n' {
		return nil, http.StatusBadRequest, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]"
	}
	lines := bytes.Split(body[:len(body)-1], []byte("\n"))
	var out []action
	for i := 0; i < len(lines); i++ {
		line := bytes.TrimSuffix(lines[i], []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var meta map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := json.Unmarshal(line, &meta); err != nil || len(meta) != 1 {
			return nil, http.StatusBadRequest, "x_content_parse_exception",
				fmt.Sprintf("[%d:1] Malformed action/metadata line [%d], expected START_OBJECT with one action", i+1, i+1)
		}
		var a action
		for op, m := range meta {
			a = action{op: op, index: m.Index, id: m.ID}
		}
		switch a.op {
		case "index", "create", "update":
			if i+1 >= len(lines) {
				return nil, http.StatusBadRequest, "action_request_validation_exception",
					fmt.Sprintf("Validation Failed: 1: source is missing for action on line [%d];", i+1)
			}
			i++
			a.source = json.RawMessage(bytes.TrimSuffix(lines[i], []byte("\r")))
		case "delete":
		default:
			return nil, http.StatusBadRequest, "illegal_argument_exception",
				fmt.Sprintf("Malformed action/metadata line [%d], expected one of [create, delete, index, update] but found [%s]", i+1, a.op)
		}
		if a.index == "" {
			a.index = pathIndex
		}
		if a.index == "" {
			return nil, http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: index is missing;"
		}
		out = append(out, a)
	}
	return out, 0, "", ""
}

// apply performs one action with s.mu held and returns its response item.
func (s *Server) apply(a action, f Faults) map[string]any {
	ix := s.indices[a.index]
	ds := false
	if ix != nil {
		ds = ix.dataStream
	} else {
		ds = s.dataStreamTemplateLocked(a.index)
	}
	if a.id == "" && a.op != "delete" {
		s.autoID++
		var b [15]byte
		binary.BigEndian.PutUint64(b[7:], s.autoID^s.seed)
		a.id = base64.RawURLEncoding.EncodeToString(b[:])
	}
	key := a.index + "/" + a.id
	s.attempts[key]++
	attempt := s.attempts[key]
	itemIndex := a.index
	if ds {
		itemIndex = fmt.Sprintf(".ds-%s-%s-000001", a.index, time.Now().UTC().Format("2006.01.02"))
	}
	res := map[string]any{"_index": itemIndex, "_id": a.id}
	fail := func(status int, typ, reason string) map[string]any {
		res["status"] = status
		res["error"] = map[string]any{
			"type": typ, "reason": reason,
			"index_uuid": "estest-index-uuid", "shard": "0", "index": itemIndex,
		}
		return res
	}

	switch a.op {
	case "update":
		return fail(http.StatusBadRequest, "illegal_argument_exception", "estest does not implement update actions")
	case "delete":
		if ix == nil || ix.docs[a.id] == nil {
			res["status"], res["result"] = http.StatusNotFound, "not_found"
			res["_shards"] = shards()
			return res
		}
		delete(ix.docs, a.id)
		s.stats.ItemsDeleted++
		res["status"], res["result"] = http.StatusOK, "deleted"
		res["_shards"] = shards()
		return res
	}

	var src map[string]json.RawMessage
	if err := json.Unmarshal(a.source, &src); err != nil {
		s.stats.Item400++
		return fail(http.StatusBadRequest, "mapper_parsing_exception", "failed to parse: the document is not a JSON object")
	}
	if ds {
		if a.op != "create" {
			s.stats.Item400++
			return fail(http.StatusBadRequest, "illegal_argument_exception",
				"only write ops with an op_type of create are allowed in data streams")
		}
		if _, ok := src["@timestamp"]; !ok {
			s.stats.Item400++
			return fail(http.StatusBadRequest, "mapper_parsing_exception",
				"failed to parse: data stream timestamp field [@timestamp] is missing")
		}
	}
	if _, ok := src[f.RejectField]; (ok && f.RejectField != "") || chance(s.hash("400", a.index, a.id), f.Item400Rate) {
		s.stats.Item400++
		return fail(http.StatusBadRequest, "mapper_parsing_exception",
			"failed to parse field [estest] of type [long] in document with id '"+a.id+"'")
	}
	n := strconv.Itoa(attempt)
	if chance(s.hash("429", a.index, a.id, n), f.Item429Rate) {
		s.stats.Item429++
		return fail(http.StatusTooManyRequests, "es_rejected_execution_exception",
			"rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=0, max_coordinating_and_primary_bytes=0]")
	}
	if chance(s.hash("503", a.index, a.id, n), f.Item503Rate) {
		s.stats.Item503++
		return fail(http.StatusServiceUnavailable, "unavailable_shards_exception",
			"[estest][0] primary shard is not active Timeout: [1m]")
	}

	if ix == nil {
		ix = &index{docs: map[string]*document{}, dataStream: ds, created: time.Now(), mapping: s.templateMappingLocked(a.index)}
		s.indices[a.index] = ix
	}
	// The document is parsed against the mapping before the engine sees its id.
	if err := ix.mapping.index(a.source, a.id); err != nil {
		s.stats.Item400++
		s.stats.MappingRejected++
		me := err.(*mappingError)
		return fail(http.StatusBadRequest, me.typ, me.reason)
	}
	existing := ix.docs[a.id]
	if existing != nil && a.op == "create" {
		s.stats.Conflicts++
		return fail(http.StatusConflict, "version_conflict_engine_exception",
			fmt.Sprintf("[%s]: version conflict, document already exists (current version [%d])", a.id, existing.version))
	}
	s.seqNo++
	s.writes[key]++
	version := 1
	res["result"], res["status"] = "created", http.StatusCreated
	if existing != nil {
		version = existing.version + 1
		res["result"], res["status"] = "updated", http.StatusOK
		s.stats.ItemsUpdated++
	} else {
		s.stats.ItemsCreated++
	}
	ix.docs[a.id] = &document{source: append(json.RawMessage(nil), a.source...), version: version}
	res["_version"] = version
	res["_shards"] = shards()
	res["_seq_no"] = s.seqNo - 1
	res["_primary_term"] = 1
	return res
}

func shards() map[string]int { return map[string]int{"total": 2, "successful": 1, "failed": 0} }

// templateOf is what the server reads of an index template.
type templateOf struct {
	IndexPatterns []string        `json:"index_patterns"`
	Priority      int             `json:"priority"`
	DataStream    json.RawMessage `json:"data_stream"`
	Template      struct {
		Mappings json.RawMessage `json:"mappings"`
	} `json:"template"`
}

// bestTemplateLocked returns the highest-priority template matching name.
func (s *Server) bestTemplateLocked(name string) (templateOf, bool) {
	var best templateOf
	found := false
	for _, raw := range s.templates {
		var t templateOf
		if json.Unmarshal(raw, &t) != nil {
			continue
		}
		for _, p := range t.IndexPatterns {
			if ok, _ := path.Match(p, name); ok && (!found || t.Priority > best.Priority) {
				best, found = t, true
			}
		}
	}
	return best, found
}

// dataStreamTemplateLocked reports whether the highest-priority template matching name
// declares a data stream.
func (s *Server) dataStreamTemplateLocked(name string) bool {
	t, ok := s.bestTemplateLocked(name)
	return ok && len(t.DataStream) > 0 && string(t.DataStream) != "null"
}

// templateMappingLocked is the mapping a new index named name starts with.
func (s *Server) templateMappingLocked(name string) *mapping {
	t, _ := s.bestTemplateLocked(name)
	m, err := newMapping(t.Template.Mappings, s.flavor)
	if err != nil { // checked when the template was put
		m, _ = newMapping(nil, s.flavor)
	}
	return m
}

func (s *Server) count(w http.ResponseWriter, target string) {
	s.mu.Lock()
	n, missing := s.countLocked(target)
	s.mu.Unlock()
	if missing != "" {
		writeError(w, http.StatusNotFound, "index_not_found_exception", "no such index ["+missing+"]")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"count":   n,
		"_shards": map[string]int{"total": 1, "successful": 1, "skipped": 0, "failed": 0},
	})
}

// countLocked sums documents over comma-separated names and wildcards; a concrete name
// that does not exist is reported, as Elasticsearch does.
func (s *Server) countLocked(target string) (int, string) {
	n := 0
	for _, pat := range strings.Split(target, ",") {
		if pat == "_all" || pat == "" {
			pat = "*"
		}
		if !strings.Contains(pat, "*") {
			ix := s.indices[pat]
			if ix == nil {
				return 0, pat
			}
			n += len(ix.docs)
			continue
		}
		for name, ix := range s.indices {
			if ok, _ := path.Match(pat, name); ok {
				n += len(ix.docs)
			}
		}
	}
	return n, ""
}

func (s *Server) indexTemplate(w http.ResponseWriter, r *http.Request, name string) {
	switch r.Method {
	case http.MethodPut, http.MethodPost:
		body, err := readBody(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, "parse_exception", err.Error())
			return
		}
		var t templateOf
		if err := json.Unmarshal(body, &t); err != nil {
			writeError(w, http.StatusBadRequest, "x_content_parse_exception", "failed to parse index template: "+err.Error())
			return
		}
		if len(t.IndexPatterns) == 0 {
			writeError(w, http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: index patterns are missing;")
			return
		}
		// The mappings are validated as the put-template call does, e.g. a type the
		// distribution lacks.
		if _, err := newMapping(t.Template.Mappings, s.flavor); err != nil {
			me := err.(*mappingError)
			writeError(w, http.StatusBadRequest, me.typ, me.reason)
			return
		}
		s.mu.Lock()
		s.templates[name] = append(json.RawMessage(nil), body...)
		s.stats.TemplatesPut++
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true})
	case http.MethodGet:
		s.mu.Lock()
		t, ok := s.templates[name]
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, "resource_not_found_exception", "index template matching ["+name+"] not found")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"index_templates": []any{map[string]any{"name": name, "index_template": t}}})
	default:
		writeError(w, http.StatusMethodNotAllowed, "illegal_argument_exception", "method not allowed")
	}
}

func (s *Server) deleteIndex(w http.ResponseWriter, name string) {
	s.mu.Lock()
	_, ok := s.indices[name]
	delete(s.indices, name)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "index_not_found_exception", "no such index ["+name+"]")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"estest: cannot encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError answers in Elasticsearch's error shape.
func writeError(w http.ResponseWriter, status int, typ, reason string) {
	cause := map[string]any{"type": typ, "reason": reason}
	writeJSON(w, status, map[string]any{
		"error":  map[string]any{"root_cause": []any{cause}, "type": typ, "reason": reason},
		"status": status,
	})
}

// hash mixes the seed with parts into 64 well-spread bits.
func (s *Server) hash(parts ...string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], s.seed)
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	// splitmix64 finaliser: FNV's low bits alone are poorly distributed.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func chance(h uint64, rate float64) bool {
	if rate <= 0 {
		return false
	}
	return float64(h>>11)/float64(1<<53) < rate
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
