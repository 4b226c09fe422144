package file

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// drainFor reads a following input, acking every batch, until it has had nothing for a
// few polls. Whatever it returned is acknowledged, so a checkpoint saved after it holds it.
func drainFor(t *testing.T, in *Input) []string {
	t.Helper()
	var got []string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		b, ack, err := in.Read(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return got
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		for _, ev := range b {
			got = append(got, auditID(ev))
		}
		ack(nil)
	}
}

// kill stops a following input the way SIGKILL does: what it last saved is what the
// next start finds. It saves, keeps that checkpoint, closes (which saves again) and puts
// the kept checkpoint back.
func kill(t *testing.T, in *Input) {
	t.Helper()
	if err := in.persist(true); err != nil {
		t.Fatal(err)
	}
	path := in.reg.store.Path()
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, saved, 0o600); err != nil {
		t.Fatal(err)
	}
}

// gzipBytes is what lumberjack's compressor writes for data.
func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// lumberjackRotation is kube-apiserver's rotation as a list of steps: rename the live file
// to its backup name, open a new live file, write the backup's gzip (half, then whole)
// beside it, remove the plain backup.
func lumberjackRotation(t *testing.T, live string, ts time.Time, next string) []func() {
	backup := lumberjackName(live, ts)
	var data, gz []byte
	return []func(){
		func() {
			rename(t, live, backup)
			appendFile(t, live, next)
		},
		func() {
			var err error
			if data, err = os.ReadFile(backup); err != nil {
				t.Fatal(err)
			}
			gz = gzipBytes(t, data)
			if err := os.WriteFile(backup+".gz", gz[:len(gz)/2], 0o600); err != nil {
				t.Fatal(err)
			}
		},
		func() {
			if err := os.WriteFile(backup+".gz", gz, 0o600); err != nil {
				t.Fatal(err)
			}
		},
		func() {
			if err := os.Remove(backup); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// A following agent killed at any point of lumberjack's rotation (rename, half-written
// gzip, whole gzip, plain backup removed), with the rest of the rotation (and more
// rotations) done while it is down — restarted once right after the kill's next step
// (a half-written gzip beside the plain backup, …) and again at the end — resumes every
// file where its checkpoint says: over all runs every event ships exactly once. It passed before it was written (the
// input resumes inside the .gz); it guards the suspected cause of the e2e duplicates: with
// .gz files not matched to their checkpoint by fingerprint it fails with "100 shipped
// again" (the backup read again from its start).
func TestKilledDuringLumberjackRotationShipsEachEventOnce(t *testing.T) {
	ts := time.Date(2026, 11, 30, 5, 55, 16, 108e6, time.UTC)
	for killAt := 0; killAt <= 4; killAt++ {
		for _, rotations := range []int{1, 3} {
			for _, partial := range []bool{false, true} {
				name := fmt.Sprintf("kill after step %d of %d rotations, partial read %v", killAt, rotations, partial)
				t.Run(name, func(t *testing.T) {
					dir, data := t.TempDir(), t.TempDir()
					live := filepath.Join(dir, "audit.log")
					appendFile(t, live, lines("g0", 0, 100))
					var steps []func()
					for r := 0; r < rotations; r++ {
						steps = append(steps, lumberjackRotation(t, live, ts.Add(time.Duration(r)*time.Minute), lines(fmt.Sprintf("g%d", r+1), 0, 100))...)
					}
					want := map[string]int{}
					for r := 0; r <= rotations; r++ {
						for _, id := range ids(fmt.Sprintf("g%d", r), 0, 100) {
							want[id] = 1
						}
					}
					c := testConfig(live)
					c.BatchMaxEvents = 30
					in := newInput(t, c, data, false, nil)
					var got []string
					if partial {
						got = readN(t, in, 30)
					} else {
						got = drainFor(t, in)
					}
					for _, step := range steps[:killAt] {
						step()
						if !partial {
							got = append(got, drainFor(t, in)...)
						}
					}
					kill(t, in)
					// Restarted once mid-rotation (after the half-written gzip, say) and
					// again at the end, or only at the end.
					done := killAt
					for _, restartAt := range []int{min(killAt+1, len(steps)), len(steps)} {
						for _, step := range steps[done:restartAt] {
							step()
						}
						done = restartAt
						got = append(got, readAll(t, newInput(t, c, data, true, nil))...)
					}
					count := map[string]int{}
					for _, id := range got {
						count[id]++
					}
					var dup, missing int
					for id := range want {
						switch {
						case count[id] == 0:
							missing++
						case count[id] > 1:
							dup += count[id] - 1
						}
					}
					if dup > 0 || missing > 0 || len(count) != len(want) {
						t.Fatalf("%d events shipped, %d distinct of %d written: %d missing, %d shipped again", len(got), len(count), len(want), missing, dup)
					}
				})
			}
		}
	}
}
