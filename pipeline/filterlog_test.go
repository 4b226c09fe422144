package pipeline

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

type classedErr struct{ class, text string }

func (e classedErr) Error() string      { return e.text }
func (e classedErr) ErrorClass() string { return e.class }

type failingFilter struct{ err error }

func (f failingFilter) Apply(*Event) (bool, error) { return false, f.err }

// TestFilterFailuresLoggedRateLimited: a filter failing on every event is logged at
// ERROR, once per filter and class per interval with a count, never with the error's
// text (which can quote the event).
func TestFilterFailuresLoggedRateLimited(t *testing.T) {
	var buf bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Error})
	l := newFilterErrorLog(NopObserver{}, log)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }

	secret := classedErr{class: "invalid duration", text: `evaluate: time: invalid duration "TOP-SECRET"`}
	chain := Chain{{Name: "drop-noise", Filter: failingFilter{secret}}}
	other := Chain{{Name: "keep-prod", Filter: failingFilter{errors.New("redact: TOP-SECRET is not an object")}}}
	ev := func() *Event { return NewEvent(nil, map[string]any{"verb": "get"}, SourceAudit) }
	for range 1000 {
		if chain.Keep(ev(), l) {
			t.Fatal("a failing filter kept the event")
		}
	}
	other.Keep(ev(), l)
	now = now.Add(FilterErrorLogEvery)
	chain.Keep(ev(), l)

	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines (first failure, other filter, the minute's count), got %d:\n%s", len(lines), out)
	}
	if strings.Contains(out, "TOP-SECRET") {
		t.Fatalf("log quotes the error text:\n%s", out)
	}
	for i, want := range []string{
		"[ERROR] filter failed; events dropped (fail-closed): filter=drop-noise class=\"invalid duration\" events=1",
		"filter=keep-prod class=\"filter error\" events=1",
		"filter=drop-noise class=\"invalid duration\" events=1000",
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q, want it to contain %q", i, lines[i], want)
		}
	}
}
