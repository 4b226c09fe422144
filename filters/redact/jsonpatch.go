// RFC 6902 JSON Patches of secret-bearing objects: each value checked against the schema
// at its path, and what a copy or move reaches redacted in the other bodies.

package redact

import (
	"strconv"
	"strings"
)

// jsonPatch treats an RFC 6902 patch of an object of schema root: each operation's value
// is checked against the schema at its path. A copy or move can carry a value from
// anywhere to anywhere, so its target is redacted in the event's other bodies (the
// object as stored after the patch).
func (p *pass) jsonPatch(ops []any, root *node) (any, bool) {
	kept := ops[:0:0]
	changed := false
	for _, o := range ops {
		op, isMap := o.(map[string]any)
		if !isMap {
			nv, rm := p.sanitize(o, leafRedact)
			changed = true
			if !rm {
				kept = append(kept, nv)
			}
			continue
		}
		path, pathOK := op["path"].(string)
		if opName, _ := op["op"].(string); pathOK && (opName == "copy" || opName == "move") {
			p.targets = append(p.targets, path)
		}
		for k, x := range op {
			var n *node
			switch k {
			case "op":
				n = jsonPatchOps
			case "path", "from":
				n = leafString // JSON Pointers: field names
			case "value":
				if pathOK {
					n = pointerNode(root, path)
				}
			}
			if n == nil {
				n = leafRedact
			}
			p.sanitizeMember(op, k, x, n)
		}
		kept = append(kept, op)
	}
	if !changed {
		return ops, false
	}
	return kept, false
}

// redactAt redacts the value at the JSON Pointer path inside v (an object as decoded) and
// returns v's replacement (nil when unchanged) and whether v itself goes.
func (p *pass) redactAt(v any, path string) (any, bool) {
	if v == nil {
		return nil, false
	}
	if path == "" {
		if isEmptyOrMasked(v) {
			return nil, false
		}
		return p.act.redact(p, v)
	}
	if path[0] != '/' {
		return nil, false
	}
	if p.redactIn(v, strings.Split(path[1:], "/")) {
		return v, false
	}
	return nil, false
}

// redactIn redacts, in place, what the JSON Pointer segments segs reach inside cur and
// reports whether anything was redacted. An array segment stands for every element of
// the array: "-" (RFC 6902: past the last element) and an index name the position at
// the time of the operation, and later operations of the same patch (an add before it,
// another append after it) move the value to another position of the object as stored.
func (p *pass) redactIn(cur any, segs []string) bool {
	seg := strings.ReplaceAll(strings.ReplaceAll(segs[0], "~1", "/"), "~0", "~")
	last := len(segs) == 1
	switch t := cur.(type) {
	case map[string]any:
		x, ok := t[seg]
		if !ok || x == nil {
			return false
		}
		if !last {
			return p.redactIn(x, segs[1:])
		}
		if isEmptyOrMasked(x) {
			return false
		}
		p.redactKey(t, seg)
		return true
	case []any:
		if idx, err := strconv.Atoi(seg); seg != "-" && (err != nil || idx < 0 || seg != strconv.Itoa(idx)) {
			return false
		}
		changed := false
		for i, x := range t {
			switch {
			case x == nil:
			case !last:
				changed = p.redactIn(x, segs[1:]) || changed
			case !isEmptyOrMasked(x):
				nv, rm := p.act.redact(p, x)
				if rm {
					nv = nil // an element cannot go without shifting the others' pointers
				}
				t[i] = nv
				changed = true
			}
		}
		return changed
	}
	return false
}

// isEmptyOrMasked reports whether v is a string that carries nothing: empty or masked.
func isEmptyOrMasked(v any) bool {
	s, ok := v.(string)
	return ok && (s == "" || s == Placeholder)
}
