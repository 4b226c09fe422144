package file

import (
	"path/filepath"
	"testing"

	"github.com/auditship/auditship/pipeline"
)

// TestStartAtEndOnlyOnFirstStart (issue 20 kind 7): start_at: end skips a backlog only on
// the agent's first start on data_dir. An input renamed or added later (other inputs'
// checkpoints are there) reads its files from the beginning; a leftover temporary file
// does not count as a checkpoint.
func TestStartAtEndOnlyOnFirstStart(t *testing.T) {
	cases := []struct {
		name   string
		others []string // checkpoint files beside the input's own
		want   []string
	}{
		{"first start", nil, nil},
		{"only a temporary file", []string{"old.json.tmp-123"}, nil},
		{"renamed input", []string{"old.json"}, ids("s", 0, 10)},
		{"added input", []string{"apiserver.json", "webhook.json"}, ids("s", 0, 10)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			appendFile(t, filepath.Join(dir, "audit.log"), lines("s", 0, 10))
			for _, name := range c.others {
				store := pipeline.NewCheckpointStore(filepath.Join(data, "inputs", name))
				if err := (registry{store: store}).save(nil); err != nil {
					t.Fatal(err)
				}
			}
			cfg := testConfig(filepath.Join(dir, "*.log"))
			cfg.StartAt = "end"
			equalIDs(t, readAll(t, newInput(t, cfg, data, true, nil)), c.want)
		})
	}
}
