package file

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// lumberjackTime is the timestamp lumberjack (kube-apiserver, kube-audit-rest) puts
// between a backup's stem and its extension: audit-2026-11-20T10-00-00.000.log.
const lumberjackTime = "2006-01-02T15-04-05.000"

// foundPath is one file the globs selected, with where it sorts among its siblings.
type foundPath struct {
	Path string
	// Live is the path of the file this one was rotated from (itself for a live file).
	Live string
	// Backup is set for a rotated sibling: it is not written to any more.
	Backup bool
	rank   int64 // order among backups of one live file: older first
}

// finder turns globs into the ordered list of files to read: for each live file, its
// backups oldest first, then the live file itself, so a rotated file is finished before
// the file that replaced it.
type finder struct {
	include []string
	exclude []string
}

func (f finder) find() ([]foundPath, error) {
	seen := map[string]bool{}
	var out []foundPath
	add := func(p foundPath) {
		if seen[p.Path] || f.excluded(p.Path) {
			return
		}
		seen[p.Path] = true
		out = append(out, p)
	}
	dirs := map[string][]os.DirEntry{}
	var errs []error
	for _, pattern := range f.include {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !hasMeta(pattern) && len(matches) == 0 {
			// A literal live path that does not exist right now (between rename and
			// create) still has siblings worth reading.
			matches = []string{filepath.Clean(pattern)}
		}
		for _, m := range matches {
			if p, ok := parseBackup(m); ok {
				add(p)
				continue
			}
			if fi, err := os.Stat(m); err == nil {
				if !fi.Mode().IsRegular() {
					continue
				}
				add(foundPath{Path: m, Live: m})
			}
			dir := filepath.Dir(m)
			entries, ok := dirs[dir]
			if !ok {
				entries, err = os.ReadDir(dir)
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, err)
				}
				dirs[dir] = entries
			}
			for _, e := range entries {
				if e.IsDir() {
					continue
				}
				p, ok := parseBackup(filepath.Join(dir, e.Name()))
				if ok && p.Live == m {
					add(p)
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Live != b.Live {
			return a.Live < b.Live
		}
		if a.Backup != b.Backup {
			return a.Backup
		}
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		return a.Path < b.Path
	})
	return out, errors.Join(errs...)
}

func (f finder) excluded(path string) bool {
	base := filepath.Base(path)
	for _, ex := range f.exclude {
		if ok, _ := filepath.Match(ex, path); ok {
			return true
		}
		if ok, _ := filepath.Match(ex, base); ok {
			return true
		}
	}
	return false
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// parseBackup recognises a rotated sibling and names the live file it came from:
// lumberjack's stem-<timestamp>.ext[.gz], logrotate's name.N[.gz] and name-YYYYMMDD[.gz].
func parseBackup(path string) (foundPath, bool) {
	dir, name := filepath.Split(path)
	name = strings.TrimSuffix(name, ".gz")
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	if n := len(lumberjackTime); len(stem) > n+1 && stem[len(stem)-n-1] == '-' {
		if ts, err := time.Parse(lumberjackTime, stem[len(stem)-n:]); err == nil {
			live := filepath.Join(dir, stem[:len(stem)-n-1]+ext)
			return foundPath{Path: path, Live: live, Backup: true, rank: ts.UnixNano()}, true
		}
	}
	// logrotate numbered: a higher number is older.
	if len(ext) > 1 && allDigits(ext[1:]) && len(ext) <= 5 {
		n, _ := strconv.ParseInt(ext[1:], 10, 64)
		return foundPath{Path: path, Live: filepath.Join(dir, stem), Backup: true, rank: -n}, true
	}
	// logrotate dateext: name-YYYYMMDD, optionally with more digits (hour, seconds).
	if i := strings.LastIndexByte(name, '-'); i > 0 && len(name)-i-1 >= 8 && allDigits(name[i+1:]) {
		n, _ := strconv.ParseInt(name[i+1:min(len(name), i+1+18)], 10, 64)
		return foundPath{Path: path, Live: filepath.Join(dir, name[:i]), Backup: true, rank: n}, true
	}
	return foundPath{}, false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isGzip reports whether path names a gzip file (by its name, as logrotate and lumberjack name them).
func isGzip(path string) bool { return strings.HasSuffix(path, ".gz") }
