package file

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/config"
)

// TestNULWarningNamesTheRunsOffset: the warning about skipped NUL bytes gives the offset
// where the first run starts, so an operator can look at it; it gave the offset the
// batch started at (0 for NULs deep in a file read from its start).
func TestNULWarningNamesTheRunsOffset(t *testing.T) {
	head := lines("p", 0, 3)
	for _, tc := range []struct {
		name, content string
		want          int
	}{
		{"between lines", head + "\x00\x00\x00" + lines("p", 3, 4), len(head)},
		{"after a line cut by a crash", head + "{\"kind\":\"Ev" + "\x00\x00" + lines("p", 3, 4), len(head) + len("{\"kind\":\"Ev")},
		{"at the start", "\x00\x00" + head, 0},
		{"two runs: the first", head + "\x00" + lines("p", 3, 4) + "\x00\x00" + lines("p", 4, 5), len(head)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			live := filepath.Join(dir, "audit.log")
			appendFile(t, live, tc.content)
			var buf bytes.Buffer
			log := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Warn})
			in, err := New(testConfig(live), config.Settings{Name: "test", Logger: log, DataDir: data, Once: true, Metrics: config.NopMetrics{}})
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, in)
			var warning string
			for _, l := range strings.Split(buf.String(), "\n") {
				if strings.Contains(l, "skipped NUL bytes") {
					warning = l
					break
				}
			}
			if want := fmt.Sprintf("offset=%d ", tc.want); !strings.Contains(warning, want) {
				t.Errorf("warning %q, want %s", warning, want)
			}
		})
	}
}
