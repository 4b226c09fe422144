package file

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeDisk answers resolve's questions from tables: no file system, no sleeps.
type fakeDisk struct {
	fpBytes int
	files   map[string]fakeFile
	tails   map[int]fakeTail // by known identity
	beside  []foundFile
	read    []string // the paths whose first bytes were read
}

type fakeFile struct {
	key  fileKey
	head string // the file's first bytes (decompressed)
	err  error
}

type fakeTail struct {
	resume       int64
	intact, fail bool
}

func (d *fakeDisk) prefix(path string, _ bool) (sample, fileKey, error) {
	d.read = append(d.read, path)
	f, ok := d.files[path]
	if !ok {
		return sample{}, fileKey{}, fs.ErrNotExist
	}
	if f.err != nil {
		return sample{}, f.key, f.err
	}
	return sample{b: []byte(f.head[:min(len(f.head), d.fpBytes)])}, f.key, nil
}

func (d *fakeDisk) tail(k int, _ string, _ fileKey, _ int64) (int64, bool, bool) {
	t, ok := d.tails[k]
	if !ok {
		return 0, true, true
	}
	return t.resume, t.intact, !t.fail
}

func (d *fakeDisk) around(skip map[string]bool) []foundFile {
	var out []foundFile
	for _, f := range d.beside {
		if !skip[f.Path] {
			out = append(out, f)
		}
	}
	return out
}

// describe is a change as the table states it.
func describe(c change) string {
	s := fmt.Sprintf("%s %d", c.kind, c.k)
	if c.f.Path != "" {
		s += " " + c.f.Path
	}
	for _, flag := range []struct {
		on   bool
		text string
	}{
		{c.verified, "verified"}, {c.cut, fmt.Sprintf("cut@%d", c.resume)}, {c.checkTail, "checkTail"},
		{c.rebind, "rebind"}, {c.lost, "lost"}, {c.lostBytes > 0, fmt.Sprintf("lost=%d", c.lostBytes)},
	} {
		if flag.on {
			s += " " + flag.text
		}
	}
	return s
}

func TestResolve(t *testing.T) {
	const (
		live   = "/l/audit.log"
		backup = "/l/audit.log.1"
		a      = "AAAAAAAAAAAAAAAAAAAAAAAA" // first lines of one file
		b      = "BBBBBBBBBBBBBBBBBBBBBBBB" // of another
	)
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	old := now.Add(-time.Hour) // a file not written to for long
	fpA := newFingerprint(sample{b: []byte(a[:16])})
	rules := scanRules{fpBytes: 16, youngFor: time.Second, pruneAfter: 24 * time.Hour, paths: []string{live}}
	at := func(path string, ino uint64, size int64, mod time.Time) foundFile {
		return foundFile{foundPath: foundPath{Path: path, Live: path}, key: fileKey{Ino: ino}, size: size, mod: mod}
	}
	bak := func(path string, ino uint64, size int64, mod time.Time) foundFile {
		f := at(path, ino, size, mod)
		f.Live, f.Backup = live, true
		return f
	}
	// reading: read to 40 of 100 bytes seen, at inode 1.
	reading := known{path: live, key: fileKey{Ino: 1}, fp: fpA, readOff: 40, size: 100, lastSeen: old}
	with := func(k known, edit func(*known)) known { edit(&k); return k }
	disk := func(files map[string]fakeFile) *fakeDisk { return &fakeDisk{files: files} }
	tests := []struct {
		name      string
		known     []known
		found     []foundFile
		disk      *fakeDisk
		dups      map[fileKey]int64
		young     map[fileKey]int64
		badGzip   map[fileKey]probe
		want      []string
		wantOrder []int
		wantAgain bool
		wantRead  []string // nil: not checked
	}{
		{
			name:  "same inode, same first bytes",
			known: []known{reading}, found: []foundFile{at(live, 1, 120, now)},
			disk: disk(map[string]fakeFile{live: {key: fileKey{Ino: 1}, head: a}}),
			want: []string{"same 0 /l/audit.log verified"}, wantOrder: []int{0},
		},
		{
			name:  "unchanged since it was confirmed: nothing is read",
			known: []known{with(reading, func(k *known) { k.confirmed, k.verSize, k.verMod = true, 120, old })},
			found: []foundFile{at(live, 1, 120, old)}, disk: disk(nil),
			want: []string{"same 0 /l/audit.log"}, wantOrder: []int{0}, wantRead: []string{},
		},
		{
			name:  "grown since it was confirmed: checked again",
			known: []known{with(reading, func(k *known) { k.confirmed, k.verSize, k.verMod = true, 100, old })},
			found: []foundFile{at(live, 1, 120, now)},
			disk:  disk(map[string]fakeFile{live: {key: fileKey{Ino: 1}, head: a}}),
			want:  []string{"same 0 /l/audit.log verified"}, wantOrder: []int{0}, wantRead: []string{live},
		},
		{
			name:  "cut behind the read position and written again",
			known: []known{reading}, found: []foundFile{at(live, 1, 90, now)},
			disk: &fakeDisk{files: map[string]fakeFile{live: {key: fileKey{Ino: 1}, head: a}}, tails: map[int]fakeTail{0: {resume: 30}}},
			want: []string{"same 0 /l/audit.log verified cut@30"}, wantOrder: []int{0},
		},
		{
			name:  "cannot be read now: taken as the same, checked next scan",
			known: []known{reading}, found: []foundFile{at(live, 1, 120, now)}, disk: disk(nil),
			want: []string{"same 0 /l/audit.log"}, wantOrder: []int{0},
		},
		{
			name:  "tail cannot be checked now: the same, not verified",
			known: []known{reading}, found: []foundFile{at(live, 1, 120, now)},
			disk: &fakeDisk{files: map[string]fakeFile{live: {key: fileKey{Ino: 1}, head: a}}, tails: map[int]fakeTail{0: {fail: true}}},
			want: []string{"same 0 /l/audit.log"}, wantOrder: []int{0},
		},
		{
			name:  "renamed to a backup (same inode), a new live file",
			known: []known{reading},
			found: []foundFile{bak(backup, 1, 100, old), at(live, 2, 10, now)},
			disk:  disk(map[string]fakeFile{backup: {key: fileKey{Ino: 1}, head: a}, live: {key: fileKey{Ino: 2}, head: b}}),
			want:  []string{"same 0 /l/audit.log.1 verified", "added 1 /l/audit.log"}, wantOrder: []int{0, 1},
		},
		{
			name:  "copytruncate: the copy is the identity, the truncated live file is new",
			known: []known{reading},
			found: []foundFile{bak(backup, 2, 100, now), at(live, 1, 10, now)},
			disk:  disk(map[string]fakeFile{backup: {key: fileKey{Ino: 2}, head: a}, live: {key: fileKey{Ino: 1}, head: b}}),
			want: []string{
				"replaced 0 /l/audit.log",
				"moved 0 /l/audit.log.1 checkTail",
				"added 1 /l/audit.log",
			},
			wantOrder: []int{0, 1},
		},
		{
			name:  "compressed: followed into the .gz",
			known: []known{with(reading, func(k *known) { k.path, k.backup = backup, true })},
			found: []foundFile{bak(backup+".gz", 3, 30, old)},
			disk:  disk(map[string]fakeFile{backup + ".gz": {key: fileKey{Ino: 3}, head: a}}),
			want:  []string{"moved 0 /l/audit.log.1.gz"}, wantOrder: []int{0},
		},
		{
			name:  "copy of a file still being read (deleted, draining)",
			known: []known{with(reading, func(k *known) { k.reading = true })},
			found: []foundFile{at("/l/copy.log", 5, 100, old)},
			disk:  disk(map[string]fakeFile{"/l/copy.log": {key: fileKey{Ino: 5}, head: a}}),
			want:  []string{"copyOf 0 /l/copy.log"}, wantOrder: []int{0},
		},
		{
			name:  "two new files with the same content: read once",
			found: []foundFile{at("/l/a.log", 1, 100, old), at("/l/b.log", 2, 100, old)},
			disk:  disk(map[string]fakeFile{"/l/a.log": {key: fileKey{Ino: 1}, head: a}, "/l/b.log": {key: fileKey{Ino: 2}, head: a}}),
			want:  []string{"added 0 /l/a.log", "copyOf 0 /l/b.log"}, wantOrder: []int{0},
		},
		{
			name:  "a copy skipped before is skipped without reading while its size holds",
			found: []foundFile{at("/l/copy.log", 5, 100, old)}, dups: map[fileKey]int64{{Ino: 5}: 100}, disk: disk(nil),
			want: []string{"copyOf -1 /l/copy.log"}, wantRead: []string{},
		},
		{
			name:  "hard link: a second name of a file bound already",
			known: []known{reading},
			found: []foundFile{at(live, 1, 120, now), at("/l/link.log", 1, 120, now)},
			disk:  disk(map[string]fakeFile{live: {key: fileKey{Ino: 1}, head: a}}),
			want:  []string{"same 0 /l/audit.log verified", "link 0 /l/link.log"}, wantOrder: []int{0},
		},
		{
			name:  "a short backup still growing is held, and its live file waits for it",
			found: []foundFile{bak(backup, 2, 4, now.Add(-10*time.Millisecond)), at(live, 3, 100, now)},
			disk:  disk(map[string]fakeFile{backup: {key: fileKey{Ino: 2}, head: "AAAA"}, live: {key: fileKey{Ino: 3}, head: b}}),
			want:  []string{"heldYoung -1 /l/audit.log.1", "added 0 /l/audit.log"}, wantOrder: []int{}, wantAgain: true,
		},
		{
			name:  "a short backup unchanged for youngFor is a file of its own",
			found: []foundFile{bak(backup, 2, 4, now.Add(-2*time.Second))}, young: map[fileKey]int64{{Ino: 2}: 4},
			disk: disk(map[string]fakeFile{backup: {key: fileKey{Ino: 2}, head: "AAAA"}}),
			want: []string{"added 0 /l/audit.log.1"}, wantOrder: []int{0},
		},
		{
			name:  "a short backup of the same size but written within youngFor is held again",
			found: []foundFile{bak(backup, 2, 4, now.Add(-10*time.Millisecond))}, young: map[fileKey]int64{{Ino: 2}: 4},
			disk: disk(map[string]fakeFile{backup: {key: fileKey{Ino: 2}, head: "AAAA"}}),
			want: []string{"heldYoung -1 /l/audit.log.1"}, wantOrder: []int{}, wantAgain: true,
		},
		{
			name:  "a short backup that grew since the last scan is held again",
			found: []foundFile{bak(backup, 2, 8, now.Add(-2*time.Second))}, young: map[fileKey]int64{{Ino: 2}: 4},
			disk: disk(map[string]fakeFile{backup: {key: fileKey{Ino: 2}, head: "AAAAAAAA"}}),
			want: []string{"heldYoung -1 /l/audit.log.1"}, wantOrder: []int{}, wantAgain: true,
		},
		{
			name:  "vanished with unread bytes: lost",
			known: []known{reading}, disk: disk(nil),
			want: []string{"vanishedLost 0 lost=60", "gone 0"}, wantOrder: []int{},
		},
		{
			name:  "vanished while a young backup may hold it: the loss waits",
			known: []known{reading},
			found: []foundFile{bak(backup, 2, 4, now)},
			disk:  disk(map[string]fakeFile{backup: {key: fileKey{Ino: 2}, head: "AAAA"}}),
			want:  []string{"heldYoung -1 /l/audit.log.1", "gone 0"}, wantOrder: []int{}, wantAgain: true,
		},
		{
			name:  "vanished, counted lost before: not counted again",
			known: []known{with(reading, func(k *known) { k.lostCounted = true })}, disk: disk(nil),
			want: []string{"gone 0"}, wantOrder: []int{},
		},
		{
			name:  "a live file vanished read to its end: what followed is lost, unknown how much",
			known: []known{with(reading, func(k *known) { k.readOff = 100 })}, disk: disk(nil),
			want: []string{"vanishedUnknown 0", "gone 0"}, wantOrder: []int{},
		},
		{
			name:  "a backup vanished read to its end: nothing lost (retention)",
			known: []known{with(reading, func(k *known) { k.path, k.backup, k.readOff = backup, true, 100 })}, disk: disk(nil),
			want: []string{"gone 0"}, wantOrder: []int{},
		},
		{
			name: "gone longer than prune_after: forgotten",
			known: []known{with(reading, func(k *known) {
				k.path, k.backup, k.readOff, k.lastSeen = backup, true, 100, now.Add(-25*time.Hour)
			})},
			disk: disk(nil), want: []string{"forget 0"}, wantOrder: []int{},
		},
		{
			name:  "gone without a fingerprint: forgotten at once",
			known: []known{with(reading, func(k *known) { k.fp, k.readOff, k.size = fingerprint{}, 0, 0 })}, disk: disk(nil),
			want: []string{"vanishedUnknown 0", "forget 0"}, wantOrder: []int{},
		},
		{
			name:  "a second entry of content read under another: dropped",
			known: []known{reading, with(reading, func(k *known) { k.key, k.path = fileKey{}, backup })},
			found: []foundFile{at(live, 1, 120, now)},
			disk:  disk(map[string]fakeFile{live: {key: fileKey{Ino: 1}, head: a}}),
			want:  []string{"same 0 /l/audit.log verified", "dropDuplicate 1"}, wantOrder: []int{0},
		},
		{
			name:  "read before without a fingerprint: nothing proves it is the same file",
			known: []known{with(reading, func(k *known) { k.fp = fingerprint{} })},
			found: []foundFile{at(live, 1, 120, now)},
			disk:  disk(map[string]fakeFile{live: {key: fileKey{Ino: 1}, head: a}}),
			want:  []string{"replaced 0 /l/audit.log", "added 1 /l/audit.log", "vanishedLost 0 lost=60", "forget 0"}, wantOrder: []int{1},
		},
		{
			name:  "inode reused by other content: the old identity vanished",
			known: []known{reading}, found: []foundFile{at(live, 1, 50, now)},
			disk:      disk(map[string]fakeFile{live: {key: fileKey{Ino: 1}, head: b}}),
			want:      []string{"replaced 0 /l/audit.log", "added 1 /l/audit.log", "vanishedLost 0 lost=60", "gone 0"},
			wantOrder: []int{1},
		},
		{
			name:  "renamed by a second rotator to a name the paths do not match",
			known: []known{with(reading, func(k *known) { k.path, k.backup = backup, true })},
			disk: &fakeDisk{
				files:  map[string]fakeFile{"/l/audit.log.old-1": {key: fileKey{Ino: 1}, head: a}},
				beside: []foundFile{at("/l/unrelated.txt", 8, 10, old), at("/l/audit.log.old-1", 1, 100, old)},
			},
			want: []string{"movedAway 0 /l/audit.log.old-1"}, wantOrder: []int{0},
		},
		{
			name:  "renamed and compressed outside the paths: followed to the new inode",
			known: []known{with(reading, func(k *known) { k.path, k.backup = backup, true })},
			disk: &fakeDisk{
				files:  map[string]fakeFile{"/l/old/a.gz": {key: fileKey{Ino: 7}, head: a}},
				beside: []foundFile{at("/l/old/a.gz", 7, 30, old)},
			},
			want: []string{"movedAway 0 /l/old/a.gz rebind"}, wantOrder: []int{0},
		},
		{
			name:  "nothing missing: the other files are not looked at",
			known: []known{reading}, found: []foundFile{at(live, 1, 120, now)},
			disk: &fakeDisk{
				files:  map[string]fakeFile{live: {key: fileKey{Ino: 1}, head: a}},
				beside: []foundFile{at("/l/other.log", 9, 10, old)},
			},
			want: []string{"same 0 /l/audit.log verified"}, wantOrder: []int{0}, wantRead: []string{live},
		},
		{
			name:  "a .gz that cannot be decompressed, unchanged: counted lost",
			found: []foundFile{bak(backup+".gz", 4, 300, old)},
			disk:  disk(map[string]fakeFile{backup + ".gz": {key: fileKey{Ino: 4}, err: errors.New("gzip: invalid header")}}),
			want:  []string{"unreadable -1 /l/audit.log.1.gz lost"}, wantOrder: []int{},
		},
		{
			name:  "a .gz that cannot be decompressed, still changing: looked at again",
			found: []foundFile{bak(backup+".gz", 4, 300, now)},
			disk:  disk(map[string]fakeFile{backup + ".gz": {key: fileKey{Ino: 4}, err: errGzipIncomplete}}),
			want:  []string{"unreadable -1 /l/audit.log.1.gz"}, wantOrder: []int{}, wantAgain: true,
		},
		{
			name:    "a .gz counted lost before and unchanged: not decompressed again",
			found:   []foundFile{bak(backup+".gz", 4, 300, old)},
			badGzip: map[fileKey]probe{{Ino: 4}: {size: 300, mod: old}}, disk: disk(nil),
			want: []string{"unreadable -1 /l/audit.log.1.gz"}, wantOrder: []int{}, wantRead: []string{},
		},
		{
			name:    "a .gz counted lost before that changed since: looked at and counted again",
			found:   []foundFile{bak(backup+".gz", 4, 400, old)},
			badGzip: map[fileKey]probe{{Ino: 4}: {size: 300, mod: old}},
			disk:    disk(map[string]fakeFile{backup + ".gz": {key: fileKey{Ino: 4}, err: errors.New("gzip: invalid header")}}),
			want:    []string{"unreadable -1 /l/audit.log.1.gz lost"}, wantOrder: []int{}, wantRead: []string{backup + ".gz"},
		},
		{
			name:  "a plain file that cannot be read: undecided",
			found: []foundFile{at(live, 2, 10, now)},
			disk:  disk(map[string]fakeFile{live: {key: fileKey{Ino: 2}, err: fs.ErrPermission}}),
			want:  []string{"undecided -1 /l/audit.log"}, wantOrder: []int{},
		},
		{
			name:  "replaced between stat and open: scanned again",
			found: []foundFile{at(live, 2, 10, now)},
			disk:  disk(map[string]fakeFile{live: {key: fileKey{Ino: 3}, head: b}}),
			want:  []string{"undecided -1 /l/audit.log"}, wantOrder: []int{}, wantAgain: true,
		},
		{
			name:  "a .gz not written far enough to tell what it holds",
			found: []foundFile{bak(backup+".gz", 4, 10, now)},
			disk:  disk(map[string]fakeFile{backup + ".gz": {key: fileKey{Ino: 4}}}),
			want:  []string{"undecided -1 /l/audit.log.1.gz"}, wantOrder: []int{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.disk.fpBytes = rules.fpBytes
			st := scanState{known: tt.known, byKey: map[fileKey]int{}, memories: memories{dups: tt.dups, young: tt.young, badGzip: tt.badGzip}}
			for k, kn := range tt.known {
				if kn.key != (fileKey{}) {
					st.byKey[kn.key] = k
				}
			}
			before := slices.Clone(tt.known)
			res := resolve(st, tt.found, now, rules, tt.disk)
			var got []string
			for _, c := range res.changes {
				got = append(got, describe(c))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if order := append([]int{}, res.order...); !slices.Equal(order, tt.wantOrder) && len(order)+len(tt.wantOrder) > 0 {
				t.Errorf("order %v, want %v", order, tt.wantOrder)
			}
			if res.again != tt.wantAgain {
				t.Errorf("scan again: %v, want %v", res.again, tt.wantAgain)
			}
			if tt.wantRead != nil && !slices.Equal(append([]string{}, tt.disk.read...), tt.wantRead) {
				t.Errorf("read the first bytes of %v, want %v", tt.disk.read, tt.wantRead)
			}
			if !slices.EqualFunc(before, tt.known, func(x, y known) bool { return x == y }) {
				t.Error("resolve changed the known identities it was given")
			}
		})
	}
}
