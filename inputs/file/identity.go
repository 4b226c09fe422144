package file

import "time"

// Identity resolution: which known identity each file a scan found is, decided without
// touching the file system. resolve mirrors, step by step, what the scan decided when it
// was one function: first the files found at a known inode (is the content still that
// identity's?), then the others (a known content under a new inode, a copy of one read
// elsewhere, or a new file), then the known identities the globs no longer find (looked
// for among the other files of their directories), and last what the ones still missing
// mean (lost, forgotten).

// known is what resolve needs of one tracked identity.
type known struct {
	path        string
	key         fileKey // zero: bound to no inode
	fp          fingerprint
	gz, backup  bool
	reading     bool // an open reader: draining, even where no path leads to it any more
	readOff     int64
	size        int64
	lastSeen    time.Time
	lostCounted bool
	// confirmed: fp was checked against the file at key when it had verSize and verMod.
	confirmed bool
	verSize   int64
	verMod    time.Time
}

// foundFile is a regular file as stat saw it: one the globs selected, or one beside them.
type foundFile struct {
	foundPath
	key  fileKey
	size int64
	mod  time.Time
}

// scanRules are the settings resolve decides by.
type scanRules struct {
	fpBytes    int           // fingerprint_bytes
	youngFor   time.Duration // how long a short backup must stay unchanged to be complete
	pruneAfter time.Duration // prune_after
	paths      []string      // the configured patterns: a file they name is live
}

// scanState is what resolve starts from: the identities and the scan's memories.
type scanState struct {
	known []known
	byKey map[fileKey]int // the identity bound to each inode, by index in known
	memories
}

// memories are what a scan leaves for the next besides the identities, by inode.
type memories struct {
	dups    map[fileKey]int64 // inodes holding a copy of content read elsewhere, by size
	young   map[fileKey]int64 // short backups still growing at the last scan, by size
	badGzip map[fileKey]probe // .gz files counted lost as unreadable (checkpointed)
	probed  map[fileKey]probe // samples of the files beside the globs' files
}

// looker reads for resolve what stat cannot tell. The Input's looker reads the file
// system; tests answer from tables.
type looker interface {
	// prefix returns the first fingerprint_bytes of the file at path after its NUL run
	// (decompressed for gz) and the identity of the file it opened.
	prefix(path string, gz bool) (sample, fileKey, error)
	// tail reports whether what known k read before its read offset is still in the
	// file at path (inode key, size bytes), and if not where reading resumes; ok is
	// false when the file cannot be read now.
	tail(k int, path string, key fileKey, size int64) (resume int64, intact, ok bool)
	// around returns the regular files, not excluded, of the directories the globs'
	// files and literal patterns are in, except the paths in skip.
	around(skip map[string]bool) []foundFile
}

// changeKind is what resolve decided about one file or identity.
type changeKind int

const (
	// same: the found file is identity k at its inode, its content checked (verified)
	// or unchanged since it last was; cut: the lines before its read offset changed
	// (cut and written again), reading resumes at resume.
	same changeKind = iota
	// replaced: the inode of identity k holds other content now (truncated by
	// copytruncate, or the inode reused); k is detached from it and looked for by
	// fingerprint. The found file is then decided again as a new inode.
	replaced
	// moved: identity k's content is the found file at another inode (renamed across
	// file systems, compressed, copied before a truncation); k follows it.
	moved
	// movedAway: like moved, for a file the globs do not select (a second rotator
	// renamed it): read to its end as a backup.
	movedAway
	// copyOf: the found file holds content read under another identity (a gzip of a
	// backup, a copy, a glob matching both): never read twice.
	copyOf
	// link: a second name (hard link) of a file already bound this scan.
	link
	// added: a new identity (new for k >= len(known)).
	added
	// heldYoung: a backup too short to tell whose content it is, still changing; it is
	// looked at again and the loss of what vanished waits for it.
	heldYoung
	// undecided: cannot tell now (cannot be read, replaced between stat and open, a
	// gzip not written far enough): looked at again at the next scan.
	undecided
	// unreadable: a .gz that cannot be decompressed; lost is set when it is to be
	// counted lost now (it stopped changing and was not counted before).
	unreadable
	// vanishedLost: identity k was not found and its unread bytes (lostBytes) are lost.
	vanishedLost
	// vanishedUnknown: identity k, a live file read to its end as far as known, was not
	// found: lines written after its last read are lost, how many is unknown.
	vanishedUnknown
	// gone: identity k was not found; kept to be found again (renamed back, restored).
	gone
	// forget: identity k was not found for prune_after, or has no fingerprint to be found
	// by: dropped from the checkpoint.
	forget
	// dropDuplicate: identity k's content is read under another identity.
	dropDuplicate
)

var changeNames = [...]string{"same", "replaced", "moved", "movedAway", "copyOf", "link", "added", "heldYoung",
	"undecided", "unreadable", "vanishedLost", "vanishedUnknown", "gone", "forget", "dropDuplicate"}

func (c changeKind) String() string { return changeNames[c] }

// change is one decision of resolve. k indexes the identities: known ones first, then
// the ones added by this resolution in order.
type change struct {
	kind changeKind
	k    int
	f    foundFile // the file decided about (none for vanished, gone, forget)
	s    sample    // its first bytes, when they were read
	// verified (same): fp was checked against s now; a longer s widens fp.
	verified bool
	// cut and resume (same): see same.
	cut    bool
	resume int64
	// checkTail (moved): a plain file's lines before the read offset are to be checked.
	checkTail bool
	// rebind (movedAway): the file is at another inode than k was bound to.
	rebind    bool
	err       error // undecided, unreadable: why
	lost      bool  // unreadable: count it lost now
	lostBytes int64 // vanishedLost
}

// resolution is what resolve returns: the changes in the order they are applied, the
// order to read the identities in (indexes as in change.k), the memories for the next
// scan, and whether to scan again soon.
type resolution struct {
	changes []change
	order   []int
	young   map[fileKey]int64
	badGzip map[fileKey]probe
	probed  map[fileKey]probe
	again   bool
}

// ident is resolve's working view of an identity.
type ident struct {
	known
	seen bool
}

// resolver holds one resolution under way.
type resolver struct {
	rules scanRules
	look  looker
	now   time.Time
	st    scanState
	ids   []ident
	byKey map[fileKey]int
	dups  map[fileKey]int64
	res   resolution
}

// resolve decides what each file found is (found in the finder's order: backups before
// their live file), given the identities and memories before the scan, and what the
// identities not found mean. It reads files only through look, and changes nothing
// outside its result.
func resolve(st scanState, found []foundFile, now time.Time, rules scanRules, look looker) resolution {
	r := &resolver{
		rules: rules, look: look, now: now, st: st,
		ids:   make([]ident, len(st.known), len(st.known)+len(found)),
		byKey: make(map[fileKey]int, len(st.byKey)),
		dups:  make(map[fileKey]int64, len(st.dups)),
		res:   resolution{young: map[fileKey]int64{}, badGzip: map[fileKey]probe{}},
	}
	for k, kn := range st.known {
		r.ids[k] = ident{known: kn}
	}
	for key, k := range st.byKey {
		r.byKey[key] = k
	}
	for key, size := range st.dups {
		r.dups[key] = size
	}
	bound := make([]int, len(found)) // the identity each found file is bound to, or -1
	for i := range bound {
		bound[i] = -1
	}
	r.atKnownInodes(found, bound)
	youngOf := map[string]bool{} // live files with a young backup
	for i, f := range found {
		if bound[i] < 0 {
			bound[i] = r.atNewInode(f, youngOf)
		}
	}
	moved := r.lookAround(found)
	r.vanished()
	for k := range r.ids {
		if !r.ids[k].seen && r.ids[k].reading {
			r.res.order = append(r.res.order, k) // draining a deleted or renamed-away file: oldest first
		}
	}
	r.res.order = append(r.res.order, moved...)
	for i, f := range found {
		if bound[i] >= 0 && (f.Backup || !youngOf[f.Live]) {
			// A live file waits for a young backup of its own: older content first.
			r.res.order = append(r.res.order, bound[i])
		}
	}
	return r.res
}

func (r *resolver) add(c change) { r.res.changes = append(r.res.changes, c) }

// probe is what was learnt of a file while its size and mod hold: its sample (a file
// beside the globs' files that lookAround read), or that it is a .gz counted unreadable.
type probe struct {
	size int64
	mod  time.Time
	s    sample
}
