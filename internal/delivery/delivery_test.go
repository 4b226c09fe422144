package delivery

import (
	"net/http"
	"strings"
	"testing"
	"time"
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
