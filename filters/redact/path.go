package redact

import (
	"fmt"
	"strconv"
	"strings"
)

type segKind uint8

const (
	segKey      segKind = iota // a named field
	segAnyKey                  // `*`: every field of an object
	segAnyIndex                // `[*]`: every element of an array
	segIndex                   // `[3]`: one element
)

type segment struct {
	kind  segKind
	key   string
	index int
}

// parsePath parses `a.b[*].c["x.y/z"].*` into segments. Names containing dots, slashes or
// brackets must be bracketed and quoted.
func parsePath(s string) ([]segment, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("path is empty")
	}
	var segs []segment
	i := 0
	expectName := true // at the start and after a dot
	for i < len(s) {
		switch c := s[i]; {
		case c == '[':
			end := strings.IndexByte(s[i:], ']')
			inner := ""
			if end > 0 {
				inner = s[i+1 : i+end]
			}
			// A quoted key may itself contain ']': find the closing quote first.
			if len(inner) > 0 && (inner[0] == '"' || inner[0] == '\'') {
				q := inner[0]
				close := strings.IndexByte(s[i+2:], q)
				if close < 0 || i+2+close+1 >= len(s) || s[i+2+close+1] != ']' {
					return nil, fmt.Errorf("%q: unterminated quoted key at offset %d", s, i)
				}
				segs = append(segs, segment{kind: segKey, key: s[i+2 : i+2+close]})
				i += 2 + close + 2
			} else {
				if end < 0 {
					return nil, fmt.Errorf("%q: missing ']' after offset %d", s, i)
				}
				switch {
				case inner == "*":
					segs = append(segs, segment{kind: segAnyIndex})
				default:
					n, err := strconv.Atoi(inner)
					if err != nil || n < 0 {
						return nil, fmt.Errorf("%q: %q in brackets is not [*], an index or a quoted key", s, inner)
					}
					segs = append(segs, segment{kind: segIndex, index: n})
				}
				i += end + 1
			}
			expectName = false
		case c == '.':
			if expectName {
				return nil, fmt.Errorf("%q: empty segment at offset %d", s, i)
			}
			expectName = true
			i++
		default:
			if !expectName {
				return nil, fmt.Errorf("%q: expected '.' or '[' at offset %d", s, i)
			}
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				if s[j] == ']' || s[j] == '"' || s[j] == ' ' {
					return nil, fmt.Errorf("%q: unexpected %q at offset %d (bracket and quote names like [\"a/b\"])", s, s[j], j)
				}
				j++
			}
			name := s[i:j]
			if name == "*" {
				segs = append(segs, segment{kind: segAnyKey})
			} else {
				segs = append(segs, segment{kind: segKey, key: name})
			}
			i = j
			expectName = false
		}
	}
	if expectName {
		return nil, fmt.Errorf("%q: ends with '.'", s)
	}
	return segs, nil
}

// applyPath redacts every value segs reaches below v. It returns v's replacement and
// whether v itself is to be removed (only when segs is empty and the action removes).
func (p *pass) applyPath(v any, segs []segment) (any, bool) {
	if v == nil {
		return v, false
	}
	if len(segs) == 0 {
		return p.act.redact(p, v)
	}
	seg, rest := segs[0], segs[1:]
	switch seg.kind {
	case segKey:
		m, ok := v.(map[string]any)
		if !ok {
			return v, false
		}
		if child, ok := m[seg.key]; ok {
			p.setChild(m, seg.key, child, rest)
		}
		return v, false
	case segAnyKey:
		m, ok := v.(map[string]any)
		if !ok {
			return v, false
		}
		for k, child := range m {
			p.setChild(m, k, child, rest)
		}
		return v, false
	case segIndex:
		a, ok := v.([]any)
		if !ok || seg.index >= len(a) {
			return v, false
		}
		nv, rm := p.applyPath(a[seg.index], rest)
		if rm {
			return append(a[:seg.index:seg.index], a[seg.index+1:]...), false
		}
		a[seg.index] = nv
		return v, false
	default: // segAnyIndex
		a, ok := v.([]any)
		if !ok {
			return v, false
		}
		kept := a[:0]
		for _, x := range a {
			nv, rm := p.applyPath(x, rest)
			if !rm {
				kept = append(kept, nv)
			}
		}
		return kept, false
	}
}

func (p *pass) setChild(m map[string]any, k string, child any, rest []segment) {
	nv, rm := p.applyPath(child, rest)
	if rm {
		delete(m, k)
		return
	}
	if p.n > 0 {
		m[k] = nv
	}
}
