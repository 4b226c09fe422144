// Package gen generates a deterministic, realistic stream of Kubernetes audit events (or
// kube-audit-rest AdmissionReview lines): what a busy control plane writes under a
// RequestResponse policy that omits RequestReceived. Lease renewals and system reads
// dominate; node and pod status patches carry big bodies; people and service accounts
// read and write secrets, exec into pods and get denied. Event i depends only on the seed
// and i, so tests, benchmarks and `make demo` can regenerate any slice of it.
package gen

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/auditship/auditship/internal/jsonbytes"
	"github.com/auditship/auditship/pipeline"
)

// Format is the kind of line generated.
type Format uint8

const (
	// FormatAudit is an audit.k8s.io/v1 Event per line, as kube-apiserver writes.
	FormatAudit Format = iota
	// FormatKubeAuditRest is an admission.k8s.io/v1 AdmissionReview per line, as
	// kube-audit-rest writes. Admission webhooks only see writes (and CONNECT), so this
	// format only has the write part of the mix.
	FormatKubeAuditRest
)

// ParseFormat parses "audit" or "kube-audit-rest".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "audit":
		return FormatAudit, nil
	case "kube-audit-rest":
		return FormatKubeAuditRest, nil
	}
	return 0, fmt.Errorf("unknown format %q (audit, kube-audit-rest)", s)
}

// CanaryPrefix starts every secret value when canaries are on, so a test can look for
// leaks: raw, or base64-encoded (CanaryPrefixBase64 is the stable start of its base64).
const CanaryPrefix = "auditship-canary-"

// CanaryPrefixBase64 is the first 20 characters of base64(CanaryPrefix...), the same for
// every value that starts with the prefix.
var CanaryPrefixBase64 = base64.StdEncoding.EncodeToString([]byte(CanaryPrefix))[:20]

// ContainsCanary reports whether b holds a planted canary, raw or base64-encoded.
func ContainsCanary(b []byte) bool {
	s := string(b)
	return strings.Contains(s, CanaryPrefix) || strings.Contains(s, CanaryPrefixBase64)
}

// Generator makes events. It has no mutable state: Event may be called concurrently.
type Generator struct {
	seed     uint64
	format   Format
	canaries bool
	start    time.Time
}

// New returns an audit-format generator for seed.
func New(seed uint64) *Generator {
	return &Generator{seed: seed, start: time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)}
}

// WithFormat returns a copy generating f.
func (g *Generator) WithFormat(f Format) *Generator { c := *g; c.format = f; return &c }

// WithCanaries returns a copy whose secret values (Secret data, tokens, last-applied
// manifests of Secrets) start with CanaryPrefix.
func (g *Generator) WithCanaries(on bool) *Generator { c := *g; c.canaries = on; return &c }

// Event returns line i (no trailing newline).
func (g *Generator) Event(i int) []byte {
	c, s := g.call(i)
	var v any
	if g.format == FormatKubeAuditRest {
		v = admissionReview(c, s)
	} else {
		v = auditOf(c, s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Every value is built from maps, slices, strings and numbers.
		panic(fmt.Sprintf("gen: marshal event %d: %v", i, err))
	}
	return b
}

// Category returns the category of event i.
func (g *Generator) Category(i int) Category {
	c, _ := g.call(i)
	return c.cat
}

func (g *Generator) call(i int) (*call, *src) {
	s := &src{r: rand.New(rand.NewPCG(g.seed, uint64(i))), t: g.start.Add(time.Duration(i) * 3 * time.Millisecond)}
	if g.canaries {
		s.canary = fmt.Sprintf("%s%d-", CanaryPrefix, i)
	}
	for {
		c := g.pick(s)
		// Admission webhooks never see reads; a write category may still model one (a
		// lease get), so kube-audit-rest draws again.
		if g.format == FormatAudit || operations[c.verb] != "" {
			return c, s
		}
	}
}

func (g *Generator) pick(s *src) *call {
	total := 0
	for _, w := range mix {
		if g.format == FormatAudit || w.write {
			total += w.weight
		}
	}
	n := s.intn(total)
	var cat Category
	for _, w := range mix {
		if g.format == FormatKubeAuditRest && !w.write {
			continue
		}
		if n < w.weight {
			cat = w.cat
			break
		}
		n -= w.weight
	}
	c := build(cat, s)
	c.cat = cat
	return c
}

// WriteEvents writes events [0, n) as lines to w and returns the bytes written.
func (g *Generator) WriteEvents(w io.Writer, n int) (int64, error) {
	return g.write(w, func(i int, _ int64) bool { return i < n })
}

// WriteBytes writes whole events until at least size bytes were written, and returns the
// number of events.
func (g *Generator) WriteBytes(w io.Writer, size int64) (int, error) {
	count := 0
	_, err := g.write(w, func(i int, written int64) bool {
		if written >= size {
			return false
		}
		count = i + 1
		return true
	})
	return count, err
}

func (g *Generator) write(w io.Writer, more func(i int, written int64) bool) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	var written int64
	for i := 0; more(i, written); i++ {
		line := g.Event(i)
		if _, err := bw.Write(line); err != nil {
			return written, fmt.Errorf("write event %d: %w", i, err)
		}
		if err := bw.WriteByte('\n'); err != nil {
			return written, fmt.Errorf("write event %d: %w", i, err)
		}
		written += int64(len(line)) + 1
	}
	if err := bw.Flush(); err != nil {
		return written, fmt.Errorf("flush: %w", err)
	}
	return written, nil
}

// Decoded returns events [from, from+n) decoded as the audit decoder does (the original
// bytes plus fields as jsonbytes.Unmarshal decodes them), for benchmarks and tests of filters.
func (g *Generator) Decoded(from, n int) ([]*pipeline.Event, error) {
	out := make([]*pipeline.Event, 0, n)
	for i := from; i < from+n; i++ {
		line := g.Event(i)
		var m map[string]any
		if err := jsonbytes.Unmarshal(line, &m); err != nil {
			return nil, fmt.Errorf("decode event %d: %w", i, err)
		}
		out = append(out, pipeline.NewEvent(line, m, pipeline.SourceAudit))
	}
	return out, nil
}

// EscapedKeys returns the number of object keys in the JSON line that hold an escape
// (managedFields' "k:{\"name\":\"app\"}", say). A string token followed by a colon is
// a key: in valid JSON no other string is.
func EscapedKeys(line []byte) int {
	n := 0
	for i := 0; i < len(line); i++ {
		if line[i] != '"' {
			continue
		}
		esc := false
		j := i + 1
		for ; j < len(line) && line[j] != '"'; j++ {
			if line[j] == '\\' {
				esc = true
				j++
			}
		}
		k := j + 1
		for k < len(line) && (line[k] == ' ' || line[k] == '\t' || line[k] == '\n' || line[k] == '\r') {
			k++
		}
		if esc && k < len(line) && line[k] == ':' {
			n++
		}
		i = j
	}
	return n
}
