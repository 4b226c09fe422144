package delivery

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		h    string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {" 10 ", 10 * time.Second}, {"0", 0}, {"-1", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := ParseRetryAfter(tc.h, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Config{BatchMaxEvents: 1, BatchMaxBytes: 1, FlushInterval: 1, Concurrency: 1, RetryInitial: 2, RetryMax: 2}
	if errs := ok.Validate(); len(errs) != 0 {
		t.Fatalf("valid config: %v", errs)
	}
	bad := ok
	bad.Concurrency, bad.RetryMax = 0, 1
	errs := bad.Validate()
	if len(errs) != 2 || !strings.HasPrefix(errs[0].Error(), "concurrency:") || !strings.HasPrefix(errs[1].Error(), "retry_max_backoff:") {
		t.Errorf("errors = %v", errs)
	}
}

// TestDeadLetterPath: an explicit dead_letter_path wins; otherwise network outputs
// (OptionsFor) default to DATA_DIR/dlq/NAME.ndjson and the others have none.
func TestDeadLetterPath(t *testing.T) {
	set := config.Settings{Name: "siem", DataDir: "/var/lib/auditship"}
	if got := (DeadLetters{}).PathFor(set, true); got != "/var/lib/auditship/dlq/siem.ndjson" {
		t.Errorf("default = %q", got)
	}
	if got := (DeadLetters{}).PathFor(set, false); got != "" {
		t.Errorf("no default = %q", got)
	}
	if got := (DeadLetters{DeadLetterPath: "/d/x.ndjson"}).PathFor(set, false); got != "/d/x.ndjson" {
		t.Errorf("explicit = %q", got)
	}
	c := Config{BatchMaxEvents: 1}
	if o := c.OptionsFor(set); o.DeadLetterPath != "/var/lib/auditship/dlq/siem.ndjson" || o.Batch.MaxEvents != 1 {
		t.Errorf("OptionsFor = %+v", o)
	}
	if o := c.Options(); o.DeadLetterPath != "" {
		t.Errorf("Options without dead_letter_path = %q", o.DeadLetterPath)
	}
}

// TestSplit: the failures of each half come back at their positions in the whole batch.
func TestSplit(t *testing.T) {
	b := make(pipeline.Batch, 5)
	for i := range b {
		b[i] = pipeline.NewEvent(nil, map[string]any{"i": i}, pipeline.SourceAudit)
	}
	down := errors.New("down")
	calls := 0
	err := Split(context.Background(), b, func(_ context.Context, h pipeline.Batch) error {
		calls++
		if calls == 1 { // b[0:2]: its second event rejected
			return &pipeline.BatchError{Failed: map[int]error{1: pipeline.Reject(pipeline.Rejection{Status: 400})}}
		}
		return down // b[2:5] whole
	})
	var be *pipeline.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 4 || !pipeline.IsPermanent(be.Failed[1]) || be.Failed[2] != down || be.Failed[4] != down {
		t.Fatalf("Split = %v", err)
	}
	if err := Split(context.Background(), b, func(context.Context, pipeline.Batch) error { return nil }); err != nil {
		t.Fatalf("Split of delivered halves = %v", err)
	}
}

// TestParseRetryAfterBounded: a server (or whatever answers in its place) cannot stall an
// output for longer than MaxRetryAfter with one answer: Retry-After: 31536000 read as a
// year held every event for a year; a value whose seconds overflow a Duration read as
// negative.
func TestParseRetryAfterBounded(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, h := range []string{"31536000", "9223372037", "99999999999999999999",
		now.AddDate(1, 0, 0).Format(http.TimeFormat)} {
		if got := ParseRetryAfter(h, now); got != MaxRetryAfter {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", h, got, MaxRetryAfter)
		}
	}
	if got := ParseRetryAfter("299", now); got != 299*time.Second {
		t.Errorf("ParseRetryAfter(299) = %v", got)
	}
}
