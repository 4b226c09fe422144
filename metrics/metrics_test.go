package metrics

import (
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestTotalsAndExposition(t *testing.T) {
	m := New()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				m.FilterDropped("leases")
			}
		}()
	}
	wg.Wait()
	m.FilterDropped("health")
	m.OutputShipped("siem", 10, 300, 120)
	m.OutputShipped("archive", 5, 100, 40)
	m.InputCheckpointLag("a", 7)
	m.InputCheckpointLag("b", 3)

	if got := m.Total("dropped/leases"); got != 4000 {
		t.Errorf("dropped/leases = %d, want 4000", got)
	}
	if got := m.Sum("dropped/"); got != 4001 {
		t.Errorf("sum dropped = %d, want 4001", got)
	}
	if got := m.Totals("shipped/"); len(got) != 2 || got[0].Key != "archive" || got[1].Value != 10 {
		t.Errorf("shipped totals = %v", got)
	}
	if m.Total("dropped/none") != 0 || m.Total("nosuch/x") != 0 {
		t.Error("unknown totals must be 0")
	}
	if m.Lag() != 10 {
		t.Errorf("lag = %d, want 10", m.Lag())
	}
	want := `
# HELP auditship_events_dropped_total Events dropped by a filter.
# TYPE auditship_events_dropped_total counter
auditship_events_dropped_total{filter="health"} 1
auditship_events_dropped_total{filter="leases"} 4000
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "auditship_events_dropped_total"); err != nil {
		t.Error(err)
	}
	wantOut := `
# HELP auditship_output_bytes_total Bytes of the events delivered by an output as written (one NDJSON line each, before compression or envelopes): what a SIEM ingests, against auditship_bytes_read_total.
# TYPE auditship_output_bytes_total counter
auditship_output_bytes_total{output="archive"} 40
auditship_output_bytes_total{output="siem"} 120
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(wantOut), "auditship_output_bytes_total"); err != nil {
		t.Error(err)
	}
}

func BenchmarkFilterDropped(b *testing.B) {
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.FilterDropped("lease-renewals")
	}
}

// TestDeclareExportsEverySeriesAtZero: after Declare, every labelled family has a series
// at 0 for each named component of its kind (issue 13, kind 9), so rate() and absent()
// see them before anything happened; declaring again keeps what was counted.
func TestDeclareExportsEverySeriesAtZero(t *testing.T) {
	m := New()
	c := Components{Inputs: []string{"apiserver", "kar"}, Filters: []string{"no-watch", "secrets"}, Outputs: []string{"siem", "archive"}}
	m.Declare(c)
	got := map[string]float64{}
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				v := s.GetCounter().GetValue() + s.GetGauge().GetValue() + float64(s.GetHistogram().GetSampleCount())
				got[mf.GetName()+"{"+l.GetName()+"="+l.GetValue()+"}"] = v
			}
		}
	}
	want := map[string][]string{"input": c.Inputs, "filter": c.Filters, "output": c.Outputs}
	check := func(name, label string) {
		t.Helper()
		for _, n := range want[label] {
			k := name + "{" + label + "=" + n + "}"
			if v, ok := got[k]; !ok || v != 0 {
				t.Errorf("%s: exported %v, value %v; want 0", k, ok, v)
			}
		}
	}
	if len(m.families) < 14 {
		t.Fatalf("only %d counter families", len(m.families))
	}
	for _, f := range m.families {
		desc := make(chan *prometheus.Desc, 1)
		f.vec.Describe(desc)
		name := strings.Split(strings.TrimPrefix((<-desc).String(), `Desc{fqName: "`), `"`)[0]
		check(name, f.label)
	}
	check("auditship_checkpoint_lag_bytes", "input")
	for _, in := range c.Inputs {
		if v, ok := got["auditship_checkpoint_age_seconds{input="+in+"}"]; !ok || v > 60 {
			t.Errorf("checkpoint age of %s: exported %v, %v s", in, ok, v)
		}
	}
	check("auditship_batch_seconds", "output")
	for _, name := range []string{"auditship_events_invalid_total", "auditship_output_errors_total", "auditship_output_retries_total", "auditship_events_lost_total"} {
		if _, ok := got[name+"{input=kar}"]; !ok {
			if _, ok := got[name+"{output=siem}"]; !ok {
				t.Errorf("%s not exported", name)
			}
		}
	}

	m.OutputError("siem")
	m.InputEventsLost("kar", 3)
	m.Declare(c)
	if m.Total("output_errors/siem") != 1 || m.Total("events_lost/kar") != 3 {
		t.Error("Declare reset a counted series")
	}
}

// TestShippedLeavesOutDeadLettered: events an output dead-lettered during a write the
// engine then reports shipped are not counted shipped (issue 13, kind 10), in events and
// (at the write's average size) bytes; a later write is not charged for them again.
func TestShippedLeavesOutDeadLettered(t *testing.T) {
	tests := []struct {
		name          string
		dead          []int // dead-lettered before each write
		writes        [][2]int
		events, bytes int64
	}{
		{"none", []int{0}, [][2]int{{13, 1300}}, 13, 1300},
		{"some", []int{3}, [][2]int{{13, 1300}}, 10, 1000},
		{"all", []int{5}, [][2]int{{5, 500}}, 0, 0},
		{"then clean writes", []int{2, 0}, [][2]int{{4, 400}, {6, 600}}, 8, 800},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			for i, w := range tc.writes {
				if tc.dead[i] > 0 {
					m.OutputDeadLettered("siem", tc.dead[i])
				}
				m.OutputShipped("siem", w[0], w[1], w[1]/2)
			}
			if got := m.Total("shipped/siem"); got != tc.events {
				t.Errorf("shipped %d, want %d", got, tc.events)
			}
			if got := m.Total("bytes_shipped/siem"); got != tc.bytes {
				t.Errorf("bytes shipped %d, want %d", got, tc.bytes)
			}
			if got := m.Total("output_bytes/siem"); got != tc.bytes/2 {
				t.Errorf("output bytes %d, want %d", got, tc.bytes/2)
			}
			m.OutputShipped("other", 7, 70, 35) // another output owes nothing
			if m.Total("shipped/other") != 7 {
				t.Error("dead letters of one output charged to another")
			}
		})
	}
}
