package file

import "path/filepath"

// lookAround looks for the identities still missing among the other files of the
// directories (see diskLooker.around), and returns those found.
func (r *resolver) lookAround(found []foundFile) []int {
	missing := 0
	for k := range r.ids {
		if t := &r.ids[k]; !t.seen && !t.reading && t.fp.Len > 0 {
			missing++
		}
	}
	r.res.probed = map[fileKey]probe{}
	if missing == 0 {
		return nil
	}
	skip := make(map[string]bool, len(found))
	for _, f := range found {
		skip[f.Path] = true
	}
	var moved []int
	for _, o := range r.look.around(skip) {
		if k, ok := r.byKey[o.key]; ok && (r.ids[k].seen || r.ids[k].reading) {
			continue
		}
		if _, dup := r.dups[o.key]; dup {
			continue
		}
		gz := isGzip(o.Path)
		pr, ok := r.st.probed[o.key]
		if !ok || pr.size != o.size || !pr.mod.Equal(o.mod) {
			s, key, err := r.look.prefix(o.Path, gz)
			if err != nil || key != o.key {
				continue
			}
			pr = probe{size: o.size, mod: o.mod, s: s}
		}
		r.res.probed[o.key] = pr
		k, ok := r.byKey[o.key]
		if !ok || !r.ids[k].fp.matches(pr.s) {
			k = r.match(pr.s)
		}
		if k < 0 || r.ids[k].seen || r.ids[k].reading {
			continue
		}
		o.foundPath = foundPath{Path: o.Path, Live: o.Path, Backup: true}
		c := change{kind: movedAway, k: k, f: o, s: pr.s, rebind: r.ids[k].key != o.key}
		if c.rebind {
			r.rebind(k, o, gz, pr.s)
		}
		r.bind(k, o)
		r.add(c)
		moved = append(moved, k)
	}
	return moved
}

// vanished decides what the identities not found mean: a duplicate entry is dropped;
// unread bytes, or a live file's unknown tail, are lost (unless a young backup may hold
// them); an identity is forgotten once gone for prune_after, or at once without a
// fingerprint to be found by.
func (r *resolver) vanished() {
	live := map[fingerprint]bool{}
	for k := range r.ids {
		if t := &r.ids[k]; (t.seen || t.reading) && t.fp.Len > 0 {
			live[t.fp] = true
		}
	}
	for k := range r.ids {
		t := &r.ids[k]
		if t.seen || t.reading {
			continue
		}
		if t.fp.Len > 0 && live[t.fp] {
			// Its content is being read under another entry (left by a duplicate
			// identity): not gone, and nothing to remember it for.
			r.add(change{kind: dropDuplicate, k: k})
			continue
		}
		// While a backup is still being written it may be where this content went: wait.
		if !t.lostCounted && t.size > t.readOff && len(r.res.young) == 0 {
			r.add(change{kind: vanishedLost, k: k, lostBytes: t.size - t.readOff})
			t.lostCounted = true
		} else if !t.lostCounted && len(r.res.young) == 0 && r.wasLive(t.known) {
			r.add(change{kind: vanishedUnknown, k: k})
			t.lostCounted = true
		}
		if t.lastSeen.IsZero() {
			t.lastSeen = r.now
		}
		if t.fp.Len == 0 || r.now.Sub(t.lastSeen) > r.rules.pruneAfter {
			// Without a fingerprint it can never be found again, only confused with a
			// file that reuses its inode.
			r.add(change{kind: forget, k: k})
			continue
		}
		r.add(change{kind: gone, k: k})
	}
}

// wasLive reports whether t was, when last read, a live file: at a path the config
// selects that is not a rotated backup's name, and not compressed. A live file is still
// written to (kube-apiserver appends until it rotates it), so one that vanishes may take
// unread lines with it even when it was read to its end; a backup or a .gz is not
// written to any more, so read to its end it is complete and retention may delete it.
func (r *resolver) wasLive(t known) bool {
	if t.gz || t.backup || isGzip(t.path) {
		return false
	}
	if _, ok := parseBackup(t.path); ok {
		return false
	}
	for _, p := range r.rules.paths {
		if ok, _ := filepath.Match(p, t.path); ok || p == t.path {
			return true
		}
	}
	return false
}
