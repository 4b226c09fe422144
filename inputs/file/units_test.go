package file

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/pipeline"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		want []string // substrings, one per expected problem
	}{
		{"defaults with a path", func(c *Config) { c.Paths = []string{"/var/log/audit.log"} }, nil},
		{"no paths", func(c *Config) {}, []string{"paths: at least one glob is required"}},
		{"bad glob", func(c *Config) { c.Paths = []string{"/x/[a"}; c.Exclude = []string{"[z"} }, []string{"paths[0]: invalid glob", "exclude[0]: invalid glob"}},
		{"bad values", func(c *Config) {
			c.Paths = []string{"a.log"}
			c.Format = "syslog"
			c.StartAt = "middle"
			c.MaxLineBytes = 10
			c.PollInterval = 0
			c.MaxOpenFiles = 0
			c.FingerprintBytes = 2
			c.BatchMaxEvents = 0
			c.BatchMaxBytes = 0
			c.PruneAfter = -1
			c.MaxGzipRatio = -1
		}, []string{"format: unknown format", "start_at:", "max_line_bytes:", "poll_interval:", "max_open_files:", "fingerprint_bytes:", "batch_max_events:", "batch_max_bytes:", "prune_after:", "max_gzip_ratio:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewConfig()
			tt.edit(c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("expected an error")
			}
			msg := err.Error()
			if n := strings.Count(msg, "\n") + 1; n != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", n, len(tt.want), msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("missing %q in:\n%s", w, msg)
				}
			}
		})
	}
}

func TestFinder(t *testing.T) {
	touch := func(dir string, names ...string) {
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("x\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name    string
		files   []string
		include []string // relative to the dir
		exclude []string
		want    []string
	}{
		{
			name:    "lumberjack siblings of a live path, oldest first",
			files:   []string{"audit.log", "audit-2026-11-20T10-00-00.000.log.gz", "audit-2026-11-19T09-00-00.000.log", "audit-2026-11-20T11-00-00.000.log", "other.log", "audit-x.log"},
			include: []string{"audit.log"},
			want:    []string{"audit-2026-11-19T09-00-00.000.log", "audit-2026-11-20T10-00-00.000.log.gz", "audit-2026-11-20T11-00-00.000.log", "audit.log"},
		},
		{
			name:    "live path missing between rename and create",
			files:   []string{"audit-2026-11-20T10-00-00.000.log"},
			include: []string{"audit.log"},
			want:    []string{"audit-2026-11-20T10-00-00.000.log"},
		},
		{
			name:    "glob matching backups is deduplicated and ordered",
			files:   []string{"audit.log", "audit-2026-11-20T10-00-00.000.log.gz", "audit-2026-11-20T11-00-00.000.log"},
			include: []string{"audit*.log*", "audit.log"},
			want:    []string{"audit-2026-11-20T10-00-00.000.log.gz", "audit-2026-11-20T11-00-00.000.log", "audit.log"},
		},
		{
			name:    "logrotate numbered and dateext",
			files:   []string{"kube.log", "kube.log.1", "kube.log.2.gz", "kube.log.10.gz"},
			include: []string{"kube.log"},
			want:    []string{"kube.log.10.gz", "kube.log.2.gz", "kube.log.1", "kube.log"},
		},
		{
			name:    "dateext",
			files:   []string{"kube.log", "kube.log-20261121", "kube.log-20261120.gz"},
			include: []string{"kube.log"},
			want:    []string{"kube.log-20261120.gz", "kube.log-20261121", "kube.log"},
		},
		{
			name:    "exclude by base name and by path",
			files:   []string{"a.log", "b.log", "c.log"},
			include: []string{"*.log"},
			exclude: []string{"b.log", "DIR/c.*"},
			want:    []string{"a.log"},
		},
		{
			name:    "separate live files stay grouped",
			files:   []string{"b.log", "a.log", "a-2026-11-20T10-00-00.000.log", "b-2026-11-20T10-00-00.000.log"},
			include: []string{"*.log"},
			want:    []string{"a-2026-11-20T10-00-00.000.log", "a.log", "b-2026-11-20T10-00-00.000.log", "b.log"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			touch(dir, tt.files...)
			f := finder{}
			for _, ex := range tt.exclude {
				f.exclude = append(f.exclude, strings.Replace(ex, "DIR", dir, 1))
			}
			for _, p := range tt.include {
				f.include = append(f.include, filepath.Join(dir, p))
			}
			found, err := f.find()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range found {
				got = append(got, filepath.Base(p.Path))
			}
			equalIDs(t, got, tt.want)
		})
	}
}

func TestFingerprintMatches(t *testing.T) {
	first := []byte(auditLine("id-1"))
	at := func(b []byte, lead int64) sample { return sample{b: b, lead: lead} }
	tests := []struct {
		name   string
		fp     fingerprint
		prefix sample
		want   bool
	}{
		{"same bytes", newFingerprint(at(first, 0)), at(first, 0), true},
		{"file grew (starts with)", newFingerprint(at(first[:100], 0)), at(first, 0), true},
		{"different content", newFingerprint(at(first, 0)), at([]byte(auditLine("id-2")), 0), false},
		{"file shorter than fingerprint", newFingerprint(at(first, 0)), at(first[:50], 0), false},
		{"empty fingerprint matches nothing", newFingerprint(at(nil, 0)), at(first, 0), false},
		{"same bytes after the same NUL run", newFingerprint(at(first, 4096)), at(first, 4096), true},
		{"same bytes after a longer NUL run", newFingerprint(at(first, 4096)), at(first, 8192), false},
		{"only NULs match nothing", newFingerprint(at(nil, 4096)), at(nil, 4096), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fp.matches(tt.prefix); got != tt.want {
				t.Fatalf("matches = %v, want %v", got, tt.want)
			}
		})
	}
	fp := newFingerprint(at(first, 7))
	back, err := parseFingerprint(fp.String(), fp.Len, fp.Lead)
	if err != nil || back != fp {
		t.Fatalf("round trip: %v %v", back, err)
	}
	if _, err := parseFingerprint("zz", 10, 0); err == nil {
		t.Fatal("a bad fingerprint must not parse")
	}
}

// The sample skips a leading NUL run, as a hole (SEEK_DATA) or as written zeros, in a
// plain file and inside a .gz.
func TestSampleSkipsLeadingNULs(t *testing.T) {
	for _, gz := range []bool{false, true} {
		for _, hole := range []bool{false, true} {
			p := filepath.Join(t.TempDir(), "f.log")
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			const lead = 3 * readBufferSize
			if hole {
				_, err = f.WriteAt([]byte("abc\n"), lead)
			} else {
				_, err = f.Write(append(make([]byte, lead), "abc\n"...))
			}
			if err != nil || f.Close() != nil {
				t.Fatal(err)
			}
			if gz {
				gzipAway(t, p)
				p += ".gz"
			}
			s, _, err := readPrefix(p, gz, 2)
			if err != nil || s.lead != lead || string(s.b) != "ab" {
				t.Fatalf("gz %v hole %v: sample %q after %d NULs, %v; want \"ab\" after %d", gz, hole, s.b, s.lead, err, lead)
			}
		}
	}
}

func TestFingerprintInsideGzip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.log")
	content := lines("g", 0, 20)
	appendFile(t, p, content)
	plain, _, err := readPrefix(p, false, 1024)
	if err != nil {
		t.Fatal(err)
	}
	gzipAway(t, p)
	inGz, _, err := readPrefix(p+".gz", true, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain.b, inGz.b) || len(plain.b) != 1024 {
		t.Fatalf("gzip prefix differs from the plain file's (%d vs %d bytes)", len(inGz.b), len(plain.b))
	}
}

type frameResult struct {
	kind frame
	line string
	off  int64
}

func TestReaderFraming(t *testing.T) {
	long := strings.Repeat("x", 3000)
	tests := []struct {
		name    string
		content string
		max     int
		want    []frameResult
	}{
		{"two lines", "a\nbb\n", 100, []frameResult{{frameLine, "a", 2}, {frameLine, "bb", 5}, {frameNone, "", 5}}},
		{"partial last line held back", "a\nbb", 100, []frameResult{{frameLine, "a", 2}, {frameNone, "", 2}, {frameNone, "", 2}}},
		{"long line skipped whole", "a\n" + long + "\nb\n", 100, []frameResult{{frameLine, "a", 2}, {frameTooLong, "", 3003}, {frameLine, "b", 3005}}},
		{"line exactly at the limit", strings.Repeat("y", 100) + "\n", 100, []frameResult{{frameLine, strings.Repeat("y", 100), 101}}},
		{"one over the limit", strings.Repeat("y", 101) + "\nz\n", 100, []frameResult{{frameTooLong, "", 102}, {frameLine, "z", 104}}},
		// A NUL run ends a line and is skipped (copytruncate with a writer that kept its
		// offset, a crash's zero-filled blocks): what follows it is a line of its own.
		{"NULs inside a line split it", "a\x00b\n", 100, []frameResult{{frameLine, "a", 1}, {frameLine, "b", 4}, {frameNone, "", 4}}},
		{"NULs before a line are skipped", "\x00\x00\x00a\n", 100, []frameResult{{frameLine, "a", 5}, {frameNone, "", 5}}},
		{"NULs after a newline", "a\n\x00\x00b\n", 100, []frameResult{{frameLine, "a", 2}, {frameLine, "b", 6}}},
		{"NUL run longer than the limit", "a\n" + strings.Repeat("\x00", 3000) + "b\n", 100, []frameResult{{frameLine, "a", 2}, {frameLine, "b", 3004}}},
		{"NUL run longer than the read buffer", strings.Repeat("\x00", 3*readBufferSize+7) + "b\n", 100, []frameResult{{frameLine, "b", 3*readBufferSize + 9}}},
		{"only NULs", strings.Repeat("\x00", 5000), 100, []frameResult{{frameNone, "", 5000}, {frameNone, "", 5000}}},
		{"NULs then a partial line", "\x00\x00ab", 100, []frameResult{{frameNone, "", 2}}},
		{"partial line cut by NULs", "{\"par" + strings.Repeat("\x00", 10) + "b\n", 100, []frameResult{{frameLine, "{\"par", 5}, {frameLine, "b", 17}}},
		{"long line ended by NULs", long + "\x00\x00b\n", 100, []frameResult{{frameTooLong, "", 3000}, {frameLine, "b", 3004}}},
		{"NUL run at the end of a line", "a\x00\x00\n", 100, []frameResult{{frameLine, "a", 1}, {frameLine, "", 4}}},
		{"invalid UTF-8 kept for the decoder to reject", "\xff\xfe\n", 100, []frameResult{{frameLine, "\xff\xfe", 3}}},
		{"empty lines", "\n\n", 100, []frameResult{{frameLine, "", 1}, {frameLine, "", 2}, {frameNone, "", 2}}},
		{"long partial line at the end", "a\n" + long, 100, []frameResult{{frameLine, "a", 2}, {frameNone, "", 2}}},
	}
	for _, tt := range tests {
		for _, gz := range []bool{false, true} {
			name := tt.name
			if gz {
				name += " gzip"
			}
			t.Run(name, func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "f.log")
				appendFile(t, p, tt.content)
				if gz {
					gzipAway(t, p)
					p += ".gz"
				}
				r, err := openReader(p, gz, 0, tt.max)
				if err != nil {
					t.Fatal(err)
				}
				defer r.close()
				for i, w := range tt.want {
					kind, line, err := r.next()
					if err != nil {
						t.Fatalf("frame %d: %v", i, err)
					}
					if kind != w.kind || string(line) != w.line || r.off != w.off {
						t.Fatalf("frame %d: got (%v, %.20q, off %d), want (%v, %.20q, off %d)", i, kind, line, r.off, w.kind, w.line, w.off)
					}
				}
			})
		}
	}
}

// The partial line is read whole once its newline arrives, and a long line being skipped
// when the end was reached goes on being skipped.
func TestReaderCompletesHeldLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.log")
	appendFile(t, p, "a\n{\"par")
	r, err := openReader(p, false, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if k, _, _ := r.next(); k != frameLine {
		t.Fatal("first line missing")
	}
	if k, _, _ := r.next(); k != frameNone || r.partial() != 0 {
		t.Fatalf("partial line must be held back, got %v partial %d", k, r.partial())
	}
	appendFile(t, p, "tial\":1}\n"+strings.Repeat("z", 500))
	if k, line, _ := r.next(); k != frameLine || string(line) != `{"partial":1}` {
		t.Fatalf("got %v %q", k, line)
	}
	if k, _, _ := r.next(); k != frameNone {
		t.Fatal("the long partial line has no end yet")
	}
	appendFile(t, p, strings.Repeat("z", 500)+"\nok\n")
	if k, _, _ := r.next(); k != frameTooLong {
		t.Fatalf("got %v, want the long line skipped", k)
	}
	if k, line, _ := r.next(); k != frameLine || string(line) != "ok" {
		t.Fatalf("got %v %q", k, line)
	}
}

func TestReaderResumesInsideGzip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.log")
	content := lines("z", 0, 50)
	appendFile(t, p, content)
	gzipAway(t, p)
	off := int64(strings.Index(content, auditLine("z-000030")))
	r, err := openReader(p+".gz", true, off, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	_, line, err := r.next()
	if err != nil || string(line)+"\n" != auditLine("z-000030") {
		t.Fatalf("resumed at the wrong line: %.60q %v", line, err)
	}
	if _, err := openReader(p+".gz", true, int64(len(content))+10, 1<<20); !errors.Is(err, errOffsetBeyondEnd) {
		t.Fatalf("an offset past the end must be reported, got %v", err)
	}
}

func TestRegistry(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "inputs", "x.json")
	reg := registry{store: pipeline.NewCheckpointStore(path)}
	log := hclog.NewNullLogger()
	if states, found, err := reg.load(false, log); err != nil || found || len(states) != 0 {
		t.Fatalf("fresh: %v %v %v", states, found, err)
	}
	want := []FileState{{Path: "/a.log", Dev: 1, Inode: 2, Fingerprint: "ab", FingerprintLen: 3, Offset: 42, Size: 50}}
	if err := reg.save(want); err != nil {
		t.Fatal(err)
	}
	got, found, err := reg.load(false, log)
	if err != nil || !found || len(got) != 1 || got[0].Offset != 42 || got[0].Inode != 2 || got[0].Path != "/a.log" {
		t.Fatalf("round trip: %+v %v %v", got, found, err)
	}
	fi, _ := os.Stat(path)
	di, _ := os.Stat(filepath.Dir(path))
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Fatalf("modes %v %v", fi.Mode().Perm(), di.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(path + ".tmp-*")
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}

	for name, content := range map[string]string{
		"torn":          `{"version":1,"files":[{"pa`,
		"wrong version": `{"version":99,"files":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := reg.load(false, log)
			if !errors.Is(err, pipeline.ErrCorruptCheckpoint) || !strings.Contains(err.Error(), "reset_corrupt_checkpoints") {
				t.Fatalf("want a corrupt-checkpoint error naming the way out, got %v", err)
			}
			states, found, err := reg.load(true, log)
			if err != nil || found || states != nil {
				t.Fatalf("reset must start afresh: %v %v %v", states, found, err)
			}
		})
	}
}

func TestCorruptCheckpointRefusesToStart(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	live := filepath.Join(dir, "audit.log")
	appendFile(t, live, lines("c", 0, 3))
	cp := filepath.Join(data, "inputs", "test.json")
	if err := os.MkdirAll(filepath.Dir(cp), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cp, []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(testConfig(live), settings(data, false, false)); !errors.Is(err, pipeline.ErrCorruptCheckpoint) {
		t.Fatalf("want ErrCorruptCheckpoint, got %v", err)
	}
	in, err := New(testConfig(live), settings(data, true, true))
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, readAll(t, in), ids("c", 0, 3))
}
