package estest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"
	"time"
)

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
	it := bulkItem{index: a.index}
	if ds {
		it.index = fmt.Sprintf(".ds-%s-%s-000001", a.index, time.Now().UTC().Format("2006.01.02"))
	}
	it.res = map[string]any{"_index": it.index, "_id": a.id}

	switch a.op {
	case "update":
		return it.fail(http.StatusBadRequest, "illegal_argument_exception", "estest does not implement update actions")
	case "delete":
		return s.deleteLocked(ix, a, it)
	}
	if res := s.rejectLocked(a, f, ds, s.attempts[key], it); res != nil {
		return res
	}
	return s.storeLocked(ix, a, ds, key, it)
}

// bulkItem is one bulk item's response being built; index is the _index it names (a data
// stream's backing index).
type bulkItem struct {
	res   map[string]any
	index string
}

func (it bulkItem) fail(status int, typ, reason string) map[string]any {
	it.res["status"] = status
	it.res["error"] = map[string]any{
		"type": typ, "reason": reason,
		"index_uuid": "estest-index-uuid", "shard": "0", "index": it.index,
	}
	return it.res
}

// deleteLocked performs a delete action.
func (s *Server) deleteLocked(ix *index, a action, it bulkItem) map[string]any {
	if ix == nil || ix.docs[a.id] == nil {
		it.res["status"], it.res["result"] = http.StatusNotFound, "not_found"
		it.res["_shards"] = shards()
		return it.res
	}
	delete(ix.docs, a.id)
	s.stats.ItemsDeleted++
	it.res["status"], it.res["result"] = http.StatusOK, "deleted"
	it.res["_shards"] = shards()
	return it.res
}

// rejectLocked returns the failed item when an index or create action is rejected before
// the mapping sees it: a source that is no object, a data stream's rules, or a fault
// (the attempt'th for this document); nil when it goes on.
func (s *Server) rejectLocked(a action, f Faults, ds bool, attempt int, it bulkItem) map[string]any {
	var src map[string]json.RawMessage
	if err := json.Unmarshal(a.source, &src); err != nil {
		s.stats.Item400++
		return it.fail(http.StatusBadRequest, "mapper_parsing_exception", "failed to parse: the document is not a JSON object")
	}
	if ds {
		if a.op != "create" {
			s.stats.Item400++
			return it.fail(http.StatusBadRequest, "illegal_argument_exception",
				"only write ops with an op_type of create are allowed in data streams")
		}
		if _, ok := src["@timestamp"]; !ok {
			s.stats.Item400++
			return it.fail(http.StatusBadRequest, "mapper_parsing_exception",
				"failed to parse: data stream timestamp field [@timestamp] is missing")
		}
	}
	if _, ok := src[f.RejectField]; (ok && f.RejectField != "") || chance(s.hash("400", a.index, a.id), f.Item400Rate) {
		s.stats.Item400++
		return it.fail(http.StatusBadRequest, "mapper_parsing_exception",
			"failed to parse field [estest] of type [long] in document with id '"+a.id+"'")
	}
	n := strconv.Itoa(attempt)
	if chance(s.hash("429", a.index, a.id, n), f.Item429Rate) {
		s.stats.Item429++
		return it.fail(http.StatusTooManyRequests, "es_rejected_execution_exception",
			"rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=0, max_coordinating_and_primary_bytes=0]")
	}
	if chance(s.hash("503", a.index, a.id, n), f.Item503Rate) {
		s.stats.Item503++
		return it.fail(http.StatusServiceUnavailable, "unavailable_shards_exception",
			"[estest][0] primary shard is not active Timeout: [1m]")
	}
	return nil
}

// storeLocked indexes an accepted document: parsed against the mapping (which may still
// reject it), then created, or updated unless the action is a create.
func (s *Server) storeLocked(ix *index, a action, ds bool, key string, it bulkItem) map[string]any {
	res := it.res
	if ix == nil {
		ix = &index{docs: map[string]*document{}, dataStream: ds, created: time.Now(), mapping: s.templateMappingLocked(a.index)}
		s.indices[a.index] = ix
	}
	// The document is parsed against the mapping before the engine sees its id.
	if err := ix.mapping.index(a.source, a.id); err != nil {
		s.stats.Item400++
		s.stats.MappingRejected++
		me := err.(*mappingError)
		return it.fail(http.StatusBadRequest, me.typ, me.reason)
	}
	existing := ix.docs[a.id]
	if existing != nil && a.op == "create" {
		s.stats.Conflicts++
		return it.fail(http.StatusConflict, "version_conflict_engine_exception",
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
