package main

import (
	"strings"
	"testing"
)

// TestStats: lines the fast path takes (escaped keys included) are not counted as slow;
// each line it declines is, with the reason it was declined for.
func TestStats(t *testing.T) {
	deep := `{"a":` + strings.Repeat("[", 250) + strings.Repeat("]", 250) + `}`
	lines := []struct {
		line, reason string // reason "" for the fast path
		escaped      bool
	}{
		{`{"auditID":"a","requestObject":{"metadata":{"managedFields":[{"fieldsV1":{"k:{\"name\":\"app\"}":{}}}]}}}`, "", true},
		{`{"auditID":"a","requestURI":"/x?a=1\u0026b=2"}`, "", false},
		{`{"auditID":"a","o":{"a":1,"\u0061":2}}`, "repeated key", true},
		// Numbers keep their literal text, so any valid number stays on the fast path.
		{`{"auditID":"a","n":1e5}`, "", false},
		{`{"auditID":"a","n":` + strings.Repeat("9", 301) + `}`, "", false},
		{deep, "nested deeper than 200", false},
		{`{"auditID":"a",}`, "invalid JSON (or not UTF-8)", false},
		{`[1]`, "not an object", false},
		{`{"kind":"AdmissionReview","request":{"uid":"u"}}`, "kube-audit-rest line (mapped into an audit event, re-encoded)", false},
	}
	s := &stats{reasons: map[string]int64{}}
	wantSlow, wantEsc := 0, 0
	for _, l := range lines {
		before := s.slowLines
		s.add([]byte(l.line + "\n"))
		if slow := s.slowLines > before; slow != (l.reason != "") {
			t.Errorf("%.60s: slow %v, want reason %q", l.line, slow, l.reason)
		}
		if l.reason != "" {
			wantSlow++
			if s.reasons[l.reason] == 0 {
				t.Errorf("%.60s: reasons %v, want %q", l.line, s.reasons, l.reason)
			}
		}
		if l.escaped {
			wantEsc++
		}
	}
	if s.lines != int64(len(lines)) || s.slowLines != int64(wantSlow) || s.escLines != int64(wantEsc) {
		t.Errorf("lines %d slow %d escaped %d; want %d %d %d", s.lines, s.slowLines, s.escLines, len(lines), wantSlow, wantEsc)
	}
	if s.bodies != 1 || s.escBodies != 1 {
		t.Errorf("bodies %d with escaped keys %d; want 1 and 1", s.bodies, s.escBodies)
	}
}
