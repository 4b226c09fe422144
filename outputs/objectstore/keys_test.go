package objectstore

import (
	"testing"
	"time"

	"github.com/auditship/auditship/pipeline"
)

func TestEventTime(t *testing.T) {
	tests := []struct {
		line string
		want string // RFC3339Nano, "" for none
	}{
		{`{"requestReceivedTimestamp":"2026-11-20T10:00:01.123456Z","stageTimestamp":"2026-11-20T11:00:00Z"}`, "2026-11-20T10:00:01.123456Z"},
		{`{"stageTimestamp":"2026-11-20T11:00:00Z","timestamp":"2026-11-20T12:00:00Z"}`, "2026-11-20T11:00:00Z"},
		{`{"requestReceivedTimestamp":"garbage","timestamp":"2017-09-11T19:55:05Z"}`, "2017-09-11T19:55:05Z"},
		{`{"requestReceivedTimestamp":"2026-11-20T12:30:00+02:00"}`, "2026-11-20T10:30:00Z"},
		{`{"requestReceivedTimestamp":42}`, ""},
		{`{}`, ""},
	}
	for _, tt := range tests {
		got, ok := eventTime(newEvent(t, tt.line))
		if tt.want == "" {
			if ok {
				t.Errorf("eventTime(%s) = %v, want none", tt.line, got)
			}
			continue
		}
		if !ok || got.Format(time.RFC3339Nano) != tt.want {
			t.Errorf("eventTime(%s) = %v, %v; want %s", tt.line, got, ok, tt.want)
		}
	}
}

func TestPartitionByHour(t *testing.T) {
	now := time.Date(2026, 11, 20, 13, 5, 0, 0, time.UTC)
	b := pipeline.Batch{
		newEvent(t, `{"requestReceivedTimestamp":"2026-11-20T10:59:59.999Z"}`),
		newEvent(t, `{"requestReceivedTimestamp":"2026-11-20T11:00:00Z"}`),
		newEvent(t, `{"requestReceivedTimestamp":"2026-11-20T10:00:00Z"}`),
		newEvent(t, `{"verb":"get"}`),
		newEvent(t, `{"requestReceivedTimestamp":"2026-11-20T11:30:00Z"}`),
	}
	got := partition(b, now)
	want := []struct {
		first string
		idx   []int
	}{
		{"2026-11-20T10:59:59.999Z", []int{0, 2}},
		{"2026-11-20T11:00:00Z", []int{1, 4}},
		{"2026-11-20T13:05:00Z", []int{3}},
	}
	if len(got) != len(want) {
		t.Fatalf("partition gave %d groups, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].first.Format(time.RFC3339Nano) != w.first || len(got[i].idx) != len(w.idx) {
			t.Errorf("group %d = %v %v, want %s %v", i, got[i].first, got[i].idx, w.first, w.idx)
			continue
		}
		for j := range w.idx {
			if got[i].idx[j] != w.idx[j] {
				t.Errorf("group %d idx = %v, want %v", i, got[i].idx, w.idx)
			}
		}
	}
}

func TestObjectKey(t *testing.T) {
	first := time.Date(2026, 11, 20, 10, 4, 5, 678_000_000, time.UTC)
	tests := []struct {
		prefix, ext, want string
	}{
		{"prod/", ".ndjson.gz", "prod/2026/11/20/10/node-1-20261120T100405.678Z-0123abcd.ndjson.gz"},
		{"", ".ndjson.zst", "2026/11/20/10/node-1-20261120T100405.678Z-0123abcd.ndjson.zst"},
		{"a/b/", ".ndjson", "a/b/2026/11/20/10/node-1-20261120T100405.678Z-0123abcd.ndjson"},
	}
	for _, tt := range tests {
		if got := objectKey(tt.prefix, "node-1", first, "0123abcd", tt.ext); got != tt.want {
			t.Errorf("objectKey = %q, want %q", got, tt.want)
		}
	}
}

func TestNodeName(t *testing.T) {
	tests := []struct{ configured, agent, want string }{
		{"cp-1", "ignored", "cp-1"},
		{"", "ip-10-0-0-1.ec2.internal", "ip-10-0-0-1.ec2.internal"},
		{"", "weird/name:x", "weird_name_x"},
	}
	for _, tt := range tests {
		if got := nodeName(tt.configured, tt.agent); got != tt.want {
			t.Errorf("nodeName(%q, %q) = %q, want %q", tt.configured, tt.agent, got, tt.want)
		}
	}
	if got := nodeName("", ""); got == "" {
		t.Error("nodeName with nothing configured is empty, want the hostname")
	}
}
