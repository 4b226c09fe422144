package main

import (
	"fmt"
	"io"
	"time"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/metrics"
)

// printSummary writes what a --once run did. "shipped" counts events each output
// delivered, never those it dead-lettered (listed apart); lines skipped for exceeding
// max_line_bytes are counted apart from invalid lines, and warned about, since neither
// reached any output.
func printSummary(w io.Writer, m *metrics.Metrics, d time.Duration) {
	read := m.Sum("events_read/")
	bytesIn := m.Sum("bytes_read/")
	skipped := m.Sum("lines_skipped/")
	fmt.Fprintf(w, "auditship: read %d events (%s) in %s; invalid %d, skipped over max_line_bytes %d, dropped %d, fields redacted %d, filter errors %d\n",
		read, config.HumanBytes(bytesIn), d.Round(time.Millisecond), m.Sum("events_invalid/"), skipped, m.Sum("dropped/"), m.Sum("redacted/"), m.Sum("filter_errors/"))
	for _, kv := range m.Totals("shipped/") {
		fmt.Fprintf(w, "auditship: output %s: shipped %d events, %d dead-lettered, %d retries\n",
			kv.Key, kv.Value, m.Total("dead_lettered/"+kv.Key), m.Total("retries/"+kv.Key))
	}
	if skipped > 0 {
		fmt.Fprintf(w, "auditship: WARNING %d lines longer than max_line_bytes were skipped, not shipped\n", skipped)
	}
	if lost := m.Sum("bytes_lost/"); lost > 0 {
		fmt.Fprintf(w, "auditship: WARNING lost %s (about %d events): rotated or deleted away, cut, or unreadable before they could be read (paths in the log)\n",
			config.HumanBytes(lost), m.Sum("events_lost/"))
	}
	if n := m.Sum("files_vanished/"); n > 0 {
		fmt.Fprintf(w, "auditship: WARNING %d live files vanished (rotated or deleted away while the agent was down, found nowhere): lines written to them after they were last read are lost, how many is unknown (paths in the log)\n", n)
	}
	if nuls := m.Sum("nul_bytes_skipped/"); nuls > 0 {
		fmt.Fprintf(w, "auditship: skipped %s of NUL bytes between lines\n", config.HumanBytes(nuls))
	}
}
