package deadletter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/auditship/auditship/internal/fsfault"
	"github.com/auditship/auditship/internal/safefile"
)

func letters(n, first int) []Entry {
	var out []Entry
	for i := first; i < first+n; i++ {
		out = append(out, Entry{Output: "es", Reason: "mapper_parsing_exception",
			Event: json.RawMessage(fmt.Sprintf(`{"auditID":"%d","pad":%q}`, i, strings.Repeat("p", 300)))})
	}
	return out
}

// readLetters checks every line is a whole dead letter and returns their count.
func readLetters(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatal("dead-letter file ends in a partial line")
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var dl Entry
		if err := json.Unmarshal(sc.Bytes(), &dl); err != nil {
			t.Fatalf("dead letter %d is not whole: %v", n+1, err)
		}
		n++
	}
	return n
}

// Moved from outputs/elasticsearch, whose dead-letter file this now is (the engine's).

// TestDeadLetterFullDisk (issue 20 kind 2): on a full disk a write of dead letters fails
// whole, and the file holds only the letters of writes that succeeded.
func TestDeadLetterFullDisk(t *testing.T) {
	dir := fsfault.Mount(t, 64<<10)
	d := New(filepath.Join(dir, "dlq", "es.ndjson"))
	written, failed := 0, false
	for i := 0; i < 100 && !failed; i++ {
		if err := d.Write(letters(7, written)); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			failed = true
			continue
		}
		written += 7
	}
	if !failed {
		t.Fatal("the disk never filled")
	}
	if got := readLetters(t, d.Path); got != written {
		t.Fatalf("file holds %d dead letters, want the %d written whole", got, written)
	}
}

// TestDeadLetterRefusesForeignFiles (issue 21 kind 1): a symlink at the dead-letter path
// is not written through nor its target chmod-ed; a file deleted meanwhile is recreated.
func TestDeadLetterRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dlq.ndjson")
	victim := fsfault.PlantSymlink(t, dir, path)
	d := New(path)
	if err := d.Write(letters(1, 0)); !errors.Is(err, safefile.ErrSymlink) {
		t.Fatalf("write through a symlink: %v", err)
	}
	victim.Untouched(t)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(letters(2, 0)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(letters(3, 2)); err != nil {
		t.Fatal(err)
	}
	if got := readLetters(t, path); got != 3 {
		t.Fatalf("recreated file holds %d letters, want 3", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("dead-letter file is %v", fi.Mode().Perm())
	}
}
