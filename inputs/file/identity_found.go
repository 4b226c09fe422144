package file

// atKnownInodes binds the files at known inodes whose content still starts as it did.
func (r *resolver) atKnownInodes(found []foundFile, bound []int) {
	for i, f := range found {
		k, ok := r.byKey[f.key]
		if !ok || r.ids[k].seen || f.key == (fileKey{}) {
			continue
		}
		c, still := r.confirm(k, f)
		if !still {
			r.add(change{kind: replaced, k: k, f: f})
			r.unbind(k)
			continue
		}
		r.bind(k, f)
		r.add(c)
		bound[i] = k
	}
}

// confirm checks that f, at identity k's inode, is still k's content; when it cannot
// tell now it says so, and the next scan checks again.
func (r *resolver) confirm(k int, f foundFile) (change, bool) {
	t := &r.ids[k]
	c := change{kind: same, k: k, f: f}
	gz := isGzip(f.Path)
	if t.confirmed && f.size == t.verSize && f.mod.Equal(t.verMod) {
		return c, true
	}
	s, key, err := r.look.prefix(f.Path, gz)
	if err != nil || key != f.key {
		return c, true // cannot tell now
	}
	if t.fp.Len > 0 && !t.fp.matches(s) {
		return c, false
	}
	if t.fp.Len == 0 && t.readOff > 0 {
		return c, false // read before without an identity: nothing to prove it is the same file
	}
	if !gz {
		resume, intact, ok := r.look.tail(k, f.Path, t.key, f.size)
		if !ok {
			return c, true // cannot tell now
		}
		if !intact {
			c.cut, c.resume = true, resume
			t.closeReader(r)
			t.readOff, t.size = resume, f.size
		}
	}
	c.s, c.verified = s, true
	if len(s.b) > t.fp.Len {
		t.fp = newFingerprint(s)
	}
	t.confirmed, t.verSize, t.verMod = true, f.size, f.mod
	return c, true
}

// atNewInode decides what f is when its inode is bound to no identity (or to one whose
// content it no longer holds): a known content under a new inode, a copy, a backup too
// young to tell, or a new file. It returns the identity f is bound to, or -1.
func (r *resolver) atNewInode(f foundFile, youngOf map[string]bool) int {
	if k, ok := r.byKey[f.key]; ok && r.ids[k].seen {
		r.add(change{kind: link, k: k, f: f}) // a second name (hard link) of a file already bound
		return -1
	}
	if size, ok := r.dups[f.key]; ok && size == f.size {
		r.add(change{kind: copyOf, k: -1, f: f})
		return -1
	}
	gz := isGzip(f.Path)
	if pr, ok := r.st.badGzip[f.key]; ok && gz && pr.size == f.size && pr.mod.Equal(f.mod) {
		r.res.badGzip[f.key] = pr // counted already; not decompressed again
		r.add(change{kind: unreadable, k: -1, f: f})
		return -1
	}
	s, key, err := r.look.prefix(f.Path, gz)
	if err == nil && gz && len(s.b) == 0 && s.lead >= maxGzipNULLead {
		err = errGzipRatio // nothing but NULs as far as it was decompressed
	}
	if err != nil {
		r.unreadable(f, gz, key, err)
		return -1
	}
	if key != f.key {
		r.res.again = true // replaced between stat and open
		r.add(change{kind: undecided, k: -1, f: f})
		return -1
	}
	if k := r.match(s); k >= 0 {
		if r.ids[k].seen || r.ids[k].reading {
			// The same content read elsewhere: a gzip of a backup, a copy taken before a
			// truncation, a glob matching both. Identity is the content, so it is never
			// read twice.
			r.dups[f.key] = f.size
			r.add(change{kind: copyOf, k: k, f: f, s: s})
			return -1
		}
		r.rebind(k, f, gz, s)
		r.bind(k, f)
		r.add(change{kind: moved, k: k, f: f, s: s, checkTail: !gz})
		return k
	}
	if len(s.b) == 0 && gz {
		r.add(change{kind: undecided, k: -1, f: f, s: s}) // a gzip not written far enough to tell what it holds
		return -1
	}
	if f.Backup && len(s.b) < r.rules.fpBytes {
		if size, ok := r.st.young[f.key]; !ok || size != f.size || r.now.Sub(f.mod) < r.rules.youngFor {
			// Too short to be matched against a fingerprint and maybe still being written
			// (copytruncate's copy, a gzip): tracked as a file of its own now, it would be
			// read again from 0 and the file whose content it is would count as lost. A
			// backup is complete once it stops changing; two scans can be microseconds
			// apart, hence the age.
			r.res.young[f.key] = f.size
			youngOf[f.Live] = true
			r.res.again = true
			r.add(change{kind: heldYoung, k: -1, f: f, s: s})
			return -1
		}
	}
	return r.track(f, s)
}

// unreadable decides about a file whose first bytes could not be read. A .gz that cannot
// be decompressed at all (not gzip, or cut inside its header) is counted lost once it has
// stopped changing, once while it stays as it is; one still changing may be a gzip being
// written, looked at again soon.
func (r *resolver) unreadable(f foundFile, gz bool, key fileKey, err error) {
	c := change{kind: undecided, k: -1, f: f, err: err}
	if gz && key == f.key {
		c.kind = unreadable
		if r.now.Sub(f.mod) < r.rules.youngFor {
			r.res.again = true
		} else {
			pr := probe{size: f.size, mod: f.mod}
			r.res.badGzip[f.key] = pr
			old, ok := r.st.badGzip[f.key]
			c.lost = !ok || old.size != pr.size || !old.mod.Equal(pr.mod)
		}
	}
	r.add(c)
}
