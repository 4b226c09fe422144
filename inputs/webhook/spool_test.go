package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestDeliveredAsReceived: an item is shipped as the bytes received (white space between
// tokens removed): numbers keep their digits, nothing is added.
func TestDeliveredAsReceived(t *testing.T) {
	in := newInput(t, plainConfig(filepath.Join(t.TempDir(), "spool")), t.TempDir())
	body := "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[\n  " + item("k-1") + "\n]}"
	if w := post(in, []byte(body), nil); w.Code != 200 {
		t.Fatal(w.Code)
	}
	b, ack, err := in.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer ack(nil)
	if len(b) != 1 || string(b[0].Raw()) != item("k-1") {
		t.Fatalf("shipped %d events, first %q; want the item as received", len(b), b[0].Raw())
	}
}

// TestSpoolFiles: segments are 0600 in a 0700 directory, and a segment written no more
// is deleted once its events are delivered and checkpointed.
func TestSpoolFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	in := newInput(t, plainConfig(dir), t.TempDir())
	if w := post(in, []byte(eventList("audit.k8s.io/v1", idRange("s", 0, 10)...)), nil); w.Code != 200 {
		t.Fatal(w.Code)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("spool dir: %v %v", fi.Mode(), err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	if len(segs) != 1 {
		t.Fatalf("%d segments", len(segs))
	}
	if fi, _ := os.Stat(segs[0]); fi.Mode().Perm() != 0o600 {
		t.Fatalf("segment mode %v", fi.Mode())
	}
	drain(t, in, 10)
	// Delivered but still written to: it stays.
	in.reap()
	if _, err := os.Stat(segs[0]); err != nil {
		t.Fatalf("the segment being written was deleted: %v", err)
	}
	in.sp.mu.Lock()
	in.sp.rollLocked()
	in.sp.mu.Unlock()
	waitFor(t, "the delivered segment to be deleted", func() bool {
		_, err := os.Stat(segs[0])
		return os.IsNotExist(err)
	})
}

// TestCrashRecovery: what a SIGKILL leaves in the spool is delivered by the next start.
// Between append and fsync the segment may end in a partial line (the request was not
// answered, so kube-apiserver sends it again): it is cut, the complete lines before it
// are delivered. Between fsync and answer the request is whole in the segment: it is
// delivered, and the retry kube-apiserver makes (same bytes, a new segment with the
// same first event) is delivered too rather than taken for a copy of the first segment.
func TestCrashRecovery(t *testing.T) {
	for _, tc := range []struct {
		name string
		tail string // what the killed append left after the answered request
		want []string
	}{
		{"killed between append and fsync, line cut", item("u-1")[:37], idRange("a", 0, 3)},
		{"killed between append and fsync, at a line end", item("u-1") + "\n", append(idRange("a", 0, 3), "u-1")},
		{"killed between fsync and answer", item("u-1") + "\n" + item("u-2") + "\n", append(idRange("a", 0, 3), "u-1", "u-2")},
		{"killed before the first line ended", "", idRange("a", 0, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, dir := t.TempDir(), filepath.Join(t.TempDir(), "spool")
			sp, err := openSpool(dir, 1<<30, hclog.NewNullLogger())
			if err != nil {
				t.Fatal(err)
			}
			lines := [][]byte{}
			for _, id := range idRange("a", 0, 3) {
				lines = append(lines, []byte(item(id)))
			}
			if err := sp.append(lines); err != nil {
				t.Fatal(err)
			}
			// The killed process's last write, as the kernel kept it.
			f, err := os.OpenFile(sp.cur.path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(tc.tail)
			f.Close()
			sp.cur.f.Close() // the process is gone: nothing is closed cleanly

			in := newInput(t, plainConfig(dir), data)
			got := drain(t, in, len(tc.want))
			for _, id := range tc.want {
				if got[id] != 1 {
					t.Fatalf("%s delivered %d times (%v)", id, got[id], got)
				}
			}
			segs, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
			for _, s := range segs {
				b, _ := os.ReadFile(s)
				if len(b) > 0 && b[len(b)-1] != '\n' {
					t.Fatalf("%s still ends in a partial line", s)
				}
			}
			// kube-apiserver sends the unanswered request again: same bytes.
			if tc.tail != "" {
				retry := eventList("audit.k8s.io/v1", "u-1", "u-2", "u-3")
				if w := post(in, []byte(retry), nil); w.Code != 200 {
					t.Fatal(w.Code)
				}
				got2 := drain(t, in, 3)
				if got2["u-3"] != 1 {
					t.Fatalf("the retried request was not delivered whole: %v", got2)
				}
			}
		})
	}
}

// TestSameFirstEvent: two segments that start with the same event (a retried batch)
// are both read whole.
func TestSameFirstEvent(t *testing.T) {
	data, dir := t.TempDir(), filepath.Join(t.TempDir(), "spool")
	in := newInput(t, plainConfig(dir), data)
	same := idRange("same", 0, 5) // over the file input's 1 KiB fingerprint
	first := eventList("audit.k8s.io/v1", append(same, idRange("x", 0, 20)...)...)
	if w := post(in, []byte(first), nil); w.Code != 200 {
		t.Fatal(w.Code)
	}
	in.sp.mu.Lock()
	in.sp.rollLocked()
	in.sp.mu.Unlock()
	second := eventList("audit.k8s.io/v1", append(same, idRange("y", 0, 20)...)...)
	if w := post(in, []byte(second), nil); w.Code != 200 {
		t.Fatal(w.Code)
	}
	got := drain(t, in, 45)
	if got["same-000000"] != 2 || got["y-000019"] != 1 {
		t.Fatalf("the repeated first events were delivered %d times, want 2 (one per segment); y-000019 %d", got["same-000000"], got["y-000019"])
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	a, _ := os.ReadFile(segs[0])
	b, _ := os.ReadFile(segs[1])
	if bytes.Equal(a[:headerBits], b[:headerBits]) || strings.TrimSpace(string(a[:headerBits])) != "" {
		t.Fatal("segment headers are not distinct blank lines")
	}
}

// TestGroupCommit: concurrent requests all return once their lines are in the spool, and
// every line is there once, whole.
func TestGroupCommit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	sp, err := openSpool(dir, 1<<30, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	const clients, requests = 8, 25
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range requests {
				var lines [][]byte
				for _, id := range idRange(fmt.Sprintf("c%d-r%d", c, r), 0, 3) {
					lines = append(lines, []byte(item(id)))
				}
				if err := sp.append(lines); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	seen := map[string]int{}
	for _, s := range segs {
		b, _ := os.ReadFile(s)
		for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			if strings.TrimSpace(l) == "" {
				continue
			}
			var e struct{ AuditID string }
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatalf("a line is not whole: %v", err)
			}
			seen[e.AuditID]++
		}
	}
	if len(seen) != clients*requests*3 {
		t.Fatalf("%d distinct events in the spool, want %d", len(seen), clients*requests*3)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s %d times", id, n)
		}
	}
}
