package redact

import "strings"

// sanitize keeps in v only what the schema node n allows, redacting the rest in place
// (objects and arrays are changed where they are). It returns v's replacement and whether
// v itself is to be removed (only when v is redacted whole under action remove). Nulls
// and empty strings carry nothing and are kept everywhere: an empty token stays empty.
func (p *pass) sanitize(v any, n *node) (any, bool) {
	if v == nil {
		return nil, false
	}
	if s, ok := v.(string); ok && s == "" {
		return v, false
	}
	switch n.kind {
	case nString:
		if _, ok := v.(string); ok {
			return v, false
		}
	case nBool:
		if _, ok := v.(bool); ok {
			return v, false
		}
	case nNumber:
		switch v.(type) {
		case string, bool, map[string]any, []any:
		default:
			return v, false
		}
	case nWord:
		if s, ok := v.(string); ok && n.words[s] {
			return v, false
		}
	case nAPIVersion:
		if s, ok := v.(string); ok && isAPIVersion(s) {
			return v, false
		}
	case nAnnotationValue:
		if _, ok := v.(string); ok && p.allow.object.has(n.key) {
			return v, false
		}
	case nStringList:
		if a, ok := v.([]any); ok {
			return p.eachElement(a, leafString), false
		}
	case nStringMap, nStringLists, nSecretValues, nAnnotations:
		if m, ok := v.(map[string]any); ok {
			p.eachValue(m, n)
			return v, false
		}
	case nFieldNames:
		if m, ok := v.(map[string]any); ok {
			p.fieldNames(m)
			return v, false
		}
	case nCells:
		if a, ok := v.([]any); ok {
			p.cells(a)
			return v, false
		}
	case nList:
		if a, ok := v.([]any); ok {
			return p.eachElement(a, n.elem), false
		}
	case nObject:
		if m, ok := v.(map[string]any); ok {
			if n == tableSchema {
				p.tableColumns(m)
			}
			p.members(m, n)
			return v, false
		}
	}
	return p.act.redact(p, v)
}

// sanitizeMember keeps member k (holding x) of m to node n: replaced, removed, or left
// untouched when nothing in it was redacted.
func (p *pass) sanitizeMember(m map[string]any, k string, x any, n *node) {
	before := p.n
	nv, rm := p.sanitize(x, n)
	switch {
	case rm:
		delete(m, k)
	case p.n != before:
		m[k] = nv
	}
}

// members keeps the members of m that the object node n allows.
func (p *pass) members(m map[string]any, n *node) {
	for k, x := range m {
		if x == nil {
			continue
		}
		child := n.fields[k]
		if child == nil {
			if directiveKept(k, x, n) {
				continue
			}
			child = leafRedact
		}
		p.sanitizeMember(m, k, x, child)
	}
}

// directiveKept reports whether member k of an object of node n is a strategic merge
// patch directive that holds no data: $patch with its directive word, or $retainKeys
// naming fields of n.
func directiveKept(k string, v any, n *node) bool {
	switch k {
	case "$patch":
		s, ok := v.(string)
		return ok && patchDirectiveWords[s]
	case "$retainKeys":
		a, ok := v.([]any)
		if !ok {
			return false
		}
		for _, x := range a {
			s, ok := x.(string)
			if !ok || n.fields[s] == nil {
				return false
			}
		}
		return true
	}
	return false
}

// eachElement keeps each element of a to elem; elements redacted under action remove go.
func (p *pass) eachElement(a []any, elem *node) []any {
	var kept []any
	for i, x := range a {
		nv, rm := p.sanitize(x, elem)
		switch {
		case rm:
			if kept == nil {
				kept = append(make([]any, 0, len(a)), a[:i]...)
			}
		case kept != nil:
			kept = append(kept, nv)
		default:
			a[i] = nv
		}
	}
	if kept != nil {
		return kept
	}
	return a
}

// eachValue keeps the members of an object whose keys are all kept (labels, data,
// annotations, user.extra) by what n says of their values.
func (p *pass) eachValue(m map[string]any, n *node) {
	for k, x := range m {
		if x == nil {
			continue
		}
		if s, ok := x.(string); ok && k == "$patch" && patchDirectiveWords[s] {
			continue // {"data": {"$patch": "replace", ...}}: a directive, not a key
		}
		var child *node
		switch n.kind {
		case nStringMap:
			child = leafString
		case nStringLists:
			child = leafStringList
		case nSecretValues:
			child = leafRedact
		default: // nAnnotations
			child = leafRedact
			if p.allow.object.has(k) {
				child = leafString
			}
		}
		p.sanitizeMember(m, k, x, child)
	}
}

// fieldNames keeps of a managedFields fieldsV1 tree only the field names: "f:<name>" and
// "." members, each holding a set of names again. Members that hold values of the object
// (k:{key fields}, v:<value> and i:<index> entries of lists) go, and so does any value
// that is not a set.
func (p *pass) fieldNames(m map[string]any) {
	for k, x := range m {
		if k != "." && !strings.HasPrefix(k, "f:") {
			p.touch()
			delete(m, k)
			continue
		}
		switch t := x.(type) {
		case map[string]any:
			p.fieldNames(t)
		default:
			// A leaf is an empty set: anything else in its place is a value.
			p.touch()
			m[k] = map[string]any{}
		}
	}
}

// cells keeps the scalar cells of a Table row in the columns tableColumns recorded; any
// other cell is masked (never removed, which would move later cells under other columns).
func (p *pass) cells(a []any) {
	for i, x := range a {
		switch t := x.(type) {
		case nil:
			continue
		case string:
			if t == "" {
				continue
			}
		}
		_, isObj := x.(map[string]any)
		_, isArr := x.([]any)
		if !isObj && !isArr && i < len(p.cols) && p.cols[i] {
			continue
		}
		nv, rm := p.act.redact(p, x)
		if rm {
			nv = Placeholder
		}
		a[i] = nv
	}
}

// tableColumns records which columns of a Table of secrets keep their cells: those of
// the secrets printer (NAME, TYPE, DATA, AGE, by the column definitions' names).
func (p *pass) tableColumns(m map[string]any) {
	p.cols = p.cols[:0]
	defs, _ := m["columnDefinitions"].([]any)
	for _, d := range defs {
		def, _ := d.(map[string]any)
		name, _ := def["name"].(string)
		switch name {
		case "Name", "Type", "Data", "Age":
			p.cols = append(p.cols, true)
		default:
			p.cols = append(p.cols, false)
		}
	}
}
