package file

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/testing/meminput"
	"github.com/auditship/auditship/pipeline"
)

type deadObserver struct {
	pipeline.NopObserver
	mu   sync.Mutex
	dead int
}

func (o *deadObserver) OutputDeadLettered(_ string, n int) {
	o.mu.Lock()
	o.dead += n
	o.mu.Unlock()
}

// TestUnencodableEventDeadLettered: through the real engine, an event the file output
// cannot encode is written to dead_letter_path when it is set and, without one (the
// default), counted and dropped as before; either way the batch is acknowledged and the
// other events of the batch are in the output file, once.
func TestUnencodableEventDeadLettered(t *testing.T) {
	for _, withPath := range []bool{true, false} {
		t.Run(map[bool]string{true: "dead_letter_path set", false: "no dead_letter_path"}[withPath], func(t *testing.T) {
			dir := t.TempDir()
			c := NewFactory().NewConfig().(*Config)
			c.Path = filepath.Join(dir, "out.ndjson")
			dlq := filepath.Join(dir, "dlq", "debug.ndjson")
			if withPath {
				c.DeadLetterPath = dlq
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			out, opts, err := NewFactory().Create(c, config.Settings{Name: "debug", DataDir: filepath.Join(dir, "data")})
			if err != nil {
				t.Fatal(err)
			}
			opts.Batch.FlushInterval = 10 * time.Millisecond
			good := batch(t, 0, 3, 10)
			bad := pipeline.NewEvent(nil, map[string]any{"auditID": "bad", "x": make(chan int)}, pipeline.SourceAudit)
			in := meminput.New(pipeline.Batch{good[0], bad, good[1], good[2]}, 4)
			obs := &deadObserver{}
			eng := pipeline.New(pipeline.Config{
				Inputs:   []pipeline.InputSpec{{Name: "mem", Input: in}},
				Outputs:  []pipeline.OutputSpec{{Name: "debug", Output: out, Options: opts}},
				Logger:   hclog.NewNullLogger(),
				Observer: obs,
			})
			if err := eng.Run(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			if err := in.Check(); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(c.Path)
			if err != nil {
				t.Fatal(err)
			}
			if lines := strings.Count(string(data), "\n"); lines != 3 || strings.Contains(string(data), `"bad"`) {
				t.Errorf("output file holds %d lines (%q), want the 3 good events", lines, data)
			}
			if obs.dead != 1 {
				t.Errorf("dead letters counted %d, want 1", obs.dead)
			}
			if !withPath {
				if _, err := os.Stat(filepath.Join(dir, "data", "dlq")); !os.IsNotExist(err) {
					t.Errorf("no dead_letter_path, but a dead-letter directory exists (%v)", err)
				}
				return
			}
			f, err := os.Open(dlq)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if fi, _ := f.Stat(); fi.Mode().Perm() != 0o600 {
				t.Errorf("dead-letter file mode %v", fi.Mode().Perm())
			}
			var n int
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatal(err)
				}
				if m["output"] != "debug" || m["error_type"] != "encode" || m["reason"] == "" {
					t.Errorf("dead letter %s", sc.Text())
				}
				n++
			}
			if n != 1 {
				t.Errorf("%d dead letters, want 1", n)
			}
		})
	}
}
