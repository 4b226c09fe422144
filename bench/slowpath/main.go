// Command slowpath reports, per input file, the share of lines and of bytes the decoder's
// fast path declines (pipeline.NewRawEvent, which inputs/decode tries first on every line;
// a declined line is decoded by encoding/json into a map and encoded again when written),
// and why; and how many lines hold object keys with escapes (managedFields' k:{...}
// keys), overall and among events with a request or response body. A kube-audit-rest
// line (an AdmissionReview) counts as slow whatever the fast path says of it: the decoder
// maps it into the audit Event shape, decoded whole, and the event is encoded anew.
// bench/run.sh prints it for every input it times. Files ending in .gz are read gunzipped.
//
//	slowpath FILE...
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/internal/jsonbytes"
	"github.com/auditship/auditship/pipeline"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: slowpath FILE...")
		os.Exit(2)
	}
	for _, p := range os.Args[1:] {
		s, err := scanFile(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "slowpath:", err)
			os.Exit(1)
		}
		s.print(os.Stdout, p)
	}
}

// stats are one input's counts.
type stats struct {
	lines, bytes         int64
	slowLines, slowBytes int64
	reasons              map[string]int64
	escLines, escBytes   int64 // lines with a key that holds an escape
	bodies, escBodies    int64 // events with a body; those of them with escaped keys
}

func scanFile(path string) (*stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		r = zr
	}
	s := &stats{reasons: map[string]int64{}}
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			s.add(line)
		}
		if errors.Is(err, io.EOF) {
			return s, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
}

func (s *stats) add(line []byte) {
	n := int64(len(line))
	// What the decoder hands the fast path: no BOM, no trailing whitespace.
	l := bytes.TrimRight(bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(bytes.TrimSpace(l)) == 0 {
		return
	}
	s.lines++
	s.bytes += n
	escaped := gen.EscapedKeys(l) > 0
	if escaped {
		s.escLines++
		s.escBytes += n
	}
	ev, err := pipeline.NewRawEvent(l, pipeline.SourceAudit)
	if err == nil && ev.Field("kind") == "AdmissionReview" {
		err = errAdmissionReview
	}
	if err != nil {
		s.slowLines++
		s.slowBytes += n
		s.reasons[reason(l, err)]++
		var m map[string]any
		if json.Unmarshal(l, &m) == nil && (m["requestObject"] != nil || m["responseObject"] != nil) {
			s.bodies++
			if escaped {
				s.escBodies++
			}
		}
		return
	}
	if ev.Kind("requestObject") == jsonbytes.KindObject || ev.Kind("responseObject") == jsonbytes.KindObject ||
		ev.Kind("requestObject") == jsonbytes.KindArray {
		s.bodies++
		if escaped {
			s.escBodies++
		}
	}
}

// errAdmissionReview: a kube-audit-rest line, decoded whole and re-encoded by design.
var errAdmissionReview = errors.New("kube-audit-rest AdmissionReview")

// reason names why the fast path declined l.
func reason(l []byte, err error) string {
	if errors.Is(err, errAdmissionReview) {
		return "kube-audit-rest line (mapped into an audit event, re-encoded)"
	}
	if errors.Is(err, jsonbytes.ErrRepeatedKey) {
		return "repeated key"
	}
	if !json.Valid(l) {
		return "invalid JSON (or not UTF-8)"
	}
	if l = bytes.TrimLeft(l, " \t"); len(l) == 0 || l[0] != '{' {
		return "not an object"
	}
	// The fast path takes any number (kept as its text) and declines only nesting past
	// fastMaxDepth (200).
	d := json.NewDecoder(bytes.NewReader(l))
	depth, maxDepth := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if t, ok := tok.(json.Delim); ok {
			if t == '{' || t == '[' {
				depth++
				maxDepth = max(maxDepth, depth)
			} else {
				depth--
			}
		}
	}
	if maxDepth > 200 {
		return "nested deeper than 200"
	}
	return "other"
}

func pct(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func (s *stats) print(w io.Writer, path string) {
	fmt.Fprintf(w, "slow path %s: %d of %d lines (%.2f%%), %d of %d bytes (%.2f%%)", path,
		s.slowLines, s.lines, pct(s.slowLines, s.lines), s.slowBytes, s.bytes, pct(s.slowBytes, s.bytes))
	reasons := make([]string, 0, len(s.reasons))
	for r := range s.reasons {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool { return s.reasons[reasons[i]] > s.reasons[reasons[j]] })
	for i, r := range reasons {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(w, "%s%s %d", sep, r, s.reasons[r])
	}
	fmt.Fprintf(w, "\n    escaped keys: %d lines (%.1f%%, %.1f%% of bytes); %d of %d events with a body (%.1f%%)\n",
		s.escLines, pct(s.escLines, s.lines), pct(s.escBytes, s.bytes), s.escBodies, s.bodies, pct(s.escBodies, s.bodies))
}
