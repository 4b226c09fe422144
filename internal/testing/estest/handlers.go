package estest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"
)

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
