package file

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditship/auditship/internal/corpustest"
)

func TestHostileInputIsCountedAndSkipped(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	deep := strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000)
	eventList := fmt.Sprintf(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[%s,%s]}`,
		strings.TrimSpace(auditLine("h-list-1")), strings.TrimSpace(auditLine("h-list-2")))
	bad := []string{
		`{"kind":"Event","auditID":`,                       // malformed JSON
		"{\"auditID\":\"\xff\xfe\"}",                       // invalid UTF-8
		"{\"auditID\":\"a\x00b\"}",                         // NUL ends a line: two invalid fragments
		"\x00\x00\x00",                                     // NUL bytes: skipped and counted, not invalid
		`{"a":` + deep + `}`,                               // 200k-deep nesting
		`[1,2,3]`, `42`, `"just a string"`, `null`, `true`, // not objects
		`{"kind":"Pod","apiVersion":"v1"}`, // an object, not an event
		strings.Repeat("{", 1<<20),         // 1 MiB of open braces
	}
	var b bytes.Buffer
	b.WriteString(auditLine("h-0"))
	for i, line := range bad {
		b.WriteString(line + "\n")
		b.WriteString(auditLine(fmt.Sprintf("h-%d", i+1)))
	}
	b.WriteString(`{"x":"` + strings.Repeat("y", 10<<20) + `"}` + "\n") // 10 MiB line
	b.WriteString(eventList + "\n")
	b.WriteString("\n   \n") // blank lines are neither events nor invalid
	b.WriteString(auditLine("h-last"))
	partial := strings.TrimSuffix(auditLine("h-partial"), "\n")
	b.WriteString(partial[:40])
	appendFile(t, live, b.String())

	c := testConfig(live)
	m := &recMetrics{}
	got := readAll(t, newInput(t, c, data, true, m))
	want := []string{"h-0"}
	for i := range bad {
		want = append(want, fmt.Sprintf("h-%d", i+1))
	}
	want = append(want, "h-list-1", "h-list-2", "h-last")
	equalIDs(t, got, want)
	st := m.get()
	// One line yields two invalid fragments, one none (only NULs).
	if st.invalid != len(bad) || st.skipped != 1 || st.read != len(want) || st.nuls != 4 {
		t.Fatalf("invalid %d (want %d), skipped %d (want 1), read %d (want %d), NUL bytes %d (want 4)", st.invalid, len(bad), st.skipped, st.read, len(want), st.nuls)
	}

	// The partial last line waits, across a restart, until its newline arrives.
	appendFile(t, live, partial[40:]+"\n")
	equalIDs(t, readAll(t, newInput(t, c, data, true, nil)), []string{"h-partial"})
}

func TestCorpusFilesShipWhole(t *testing.T) {
	root := corpustest.Dir(t)
	tests := []struct {
		glob, format string
	}{
		{"audit-events/*/*.log", "audit"},
		{"audit-events/falco-k8s_audit/*.json", "audit"},
		{"admissionreview/kube-audit-rest/*", "kube-audit-rest"},
	}
	for _, tt := range tests {
		t.Run(tt.glob, func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(root, tt.glob))
			if len(files) == 0 {
				t.Skip("no files")
			}
			c := testConfig(filepath.Join(root, tt.glob))
			c.Format = tt.format
			m := &recMetrics{}
			got := readAll(t, newInput(t, c, t.TempDir(), true, m))
			if len(got) == 0 || m.get().read != len(got) {
				t.Fatalf("read %d events, metrics say %d", len(got), m.get().read)
			}
			t.Logf("%d files, %d events, %d invalid lines", len(files), len(got), m.get().invalid)
		})
	}
}
