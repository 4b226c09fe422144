package metrics

import (
	"strings"
	"sync"
	"testing"

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
