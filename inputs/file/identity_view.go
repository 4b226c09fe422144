package file

// match returns the identity with the longest fingerprint matching s, or -1.
func (r *resolver) match(s sample) int {
	best := -1
	for k := range r.ids {
		t := &r.ids[k]
		if t.fp.Len > 0 && (best < 0 || t.fp.Len > r.ids[best].fp.Len) && t.fp.matches(s) {
			best = k
		}
	}
	return best
}

// bind records that identity k is f, found by this scan.
func (r *resolver) bind(k int, f foundFile) {
	t := &r.ids[k]
	t.seen, t.lastSeen, t.lostCounted = true, r.now, false
	t.path, t.backup, t.gz = f.Path, f.Backup, isGzip(f.Path)
}

// rebind moves identity k to f's inode, which holds its content.
func (r *resolver) rebind(k int, f foundFile, gz bool, s sample) {
	t := &r.ids[k]
	t.closeReader(r)
	if j, ok := r.byKey[t.key]; ok && j == k && t.key != (fileKey{}) {
		delete(r.byKey, t.key)
	}
	if j, ok := r.byKey[f.key]; ok && j != k {
		r.ids[j].key = fileKey{}
	}
	t.key = f.key
	if f.key != (fileKey{}) {
		r.byKey[f.key] = k
	}
	t.gz = gz
	if len(s.b) > t.fp.Len {
		t.fp = newFingerprint(s)
	}
	t.confirmed, t.verSize, t.verMod = true, f.size, f.mod
}

// unbind detaches identity k from its inode, whose content is no longer k's.
func (r *resolver) unbind(k int) {
	t := &r.ids[k]
	t.closeReader(r)
	if j, ok := r.byKey[t.key]; ok && j == k {
		delete(r.byKey, t.key)
	}
	t.key, t.confirmed, t.seen = fileKey{}, false, false
	clear(r.dups)
}

// track adds a new identity for f, whose first bytes are s.
func (r *resolver) track(f foundFile, s sample) int {
	k := len(r.ids)
	fp := newFingerprint(s)
	if len(s.b) == 0 {
		fp = fingerprint{}
	}
	r.ids = append(r.ids, ident{known: known{key: f.key, fp: fp, confirmed: true, verSize: f.size, verMod: f.mod}})
	if f.key != (fileKey{}) {
		r.byKey[f.key] = k
	}
	r.bind(k, f)
	r.add(change{kind: added, k: k, f: f, s: s})
	return k
}

// closeReader records that the identity's reader is closed: a copy skipped while it
// drained may now be the only one.
func (t *ident) closeReader(r *resolver) {
	if !t.reading {
		return
	}
	t.reading = false
	if !t.seen {
		clear(r.dups)
	}
}
