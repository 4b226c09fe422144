package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/metrics"
)

// The --once summary names every loss the file input counted, with its event estimate,
// and the NUL bytes it skipped (issue 13 kinds 4 and 5, issue 20 kinds 1 and 10).
func TestSummaryReportsLossAndNULs(t *testing.T) {
	m := metrics.New()
	var quiet bytes.Buffer
	printSummary(&quiet, m, time.Second)
	if strings.Contains(quiet.String(), "lost") || strings.Contains(quiet.String(), "NUL") {
		t.Fatalf("nothing lost or skipped, but:\n%s", quiet.String())
	}
	m.InputBytesLost("apiserver", 3<<10)
	m.InputEventsLost("apiserver", 7)
	m.InputNULBytesSkipped("apiserver", 4096)
	var out bytes.Buffer
	printSummary(&out, m, time.Second)
	for _, want := range []string{"WARNING lost 3.0 KiB (about 7 events)", "skipped 4.0 KiB of NUL bytes"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

// A live file that vanished while the agent was down is a loss of unknown size: the
// summary says so, with the count of such files (issue 13 kind 5).
func TestSummaryReportsVanishedLiveFiles(t *testing.T) {
	m := metrics.New()
	var quiet bytes.Buffer
	printSummary(&quiet, m, time.Second)
	if strings.Contains(quiet.String(), "vanished") {
		t.Fatalf("nothing vanished, but:\n%s", quiet.String())
	}
	m.InputFileVanished("apiserver")
	var out bytes.Buffer
	printSummary(&out, m, time.Second)
	if want := "WARNING 1 live files vanished"; !strings.Contains(out.String(), want) {
		t.Fatalf("summary lacks %q:\n%s", want, out.String())
	}
}
