// AST rewrites done once at compile time so that evaluation decodes only what an
// expression reads: member chains become one identifier per path, nil comparisons a
// presence check, and every member access nil-safe.

package condition

import (
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// localNames lists the names `let` binds: a member of one of those is not an event path.
func localNames(node ast.Node) map[string]bool {
	v := &lets{names: map[string]bool{}}
	ast.Walk(&node, v)
	return v.names
}

type lets struct{ names map[string]bool }

func (v *lets) Visit(node *ast.Node) {
	if d, ok := (*node).(*ast.VariableDeclaratorNode); ok {
		v.names[d.Name] = true
	}
}

// memberPaths replaces each member chain with constant keys that starts at an event field
// (objectRef.resource, annotations["a/b"], user?.username) by one identifier, and records
// the path it stands for. ast.Walk visits children first, so a.b becomes one identifier
// before a.b.c is seen, which then becomes one too.
//
// It also gives a field only compared with nil (objectRef == nil) an identifier of its
// own, which stands for whether the field is there: a health check's objectRef == nil
// then costs no decoding of objectRef.
type memberPaths struct {
	locals map[string]bool
	// paths maps each identifier made for a member chain to its path.
	paths map[string][]string
	// present maps each identifier made for a nil comparison to its field.
	present map[string]string
}

// pathMark starts the identifiers memberPaths makes: no expression can spell it.
const pathMark = "\x00"

func (v *memberPaths) Visit(node *ast.Node) {
	if b, ok := (*node).(*ast.BinaryNode); ok && (b.Operator == "==" || b.Operator == "!=") {
		v.nilComparison(&b.Left, b.Right)
		v.nilComparison(&b.Right, b.Left)
		return
	}
	m, ok := (*node).(*ast.MemberNode)
	if !ok || m.Method {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok || !v.field(id.Value) {
		return
	}
	key, ok := m.Property.(*ast.StringNode)
	if !ok {
		return
	}
	path := v.paths[id.Value]
	if path == nil {
		path = []string{id.Value}
	}
	path = append(path[:len(path):len(path)], key.Value)
	// Each step quoted on its own: keys may hold any character, pathMark included.
	var name strings.Builder
	name.WriteString(pathMark)
	for _, k := range path {
		name.WriteString(strconv.Quote(k))
	}
	v.paths[name.String()] = path
	ast.Patch(node, &ast.IdentifierNode{Value: name.String()})
}

// field reports whether the identifier name reads an event field (or a member path).
func (v *memberPaths) field(name string) bool {
	return !strings.HasPrefix(name, "$") && !v.locals[name]
}

// nilComparison replaces *side by a presence identifier when it is an event field and
// other is nil.
func (v *memberPaths) nilComparison(side *ast.Node, other ast.Node) {
	id, ok := (*side).(*ast.IdentifierNode)
	if _, isNil := other.(*ast.NilNode); !ok || !isNil || !v.field(id.Value) || strings.HasPrefix(id.Value, pathMark) {
		return
	}
	name := pathMark + "present" + strconv.Quote(id.Value)
	v.present[name] = id.Value
	ast.Patch(side, &ast.IdentifierNode{Value: name})
}

// topNames lists the identifiers of node: the event fields an expression reads are
// among them (the rest, let-bound names and the like, are simply absent from events).
// nil means the expression reaches the whole environment.
func topNames(node ast.Node) []string {
	v := &identifiers{seen: map[string]bool{}}
	ast.Walk(&node, v)
	if v.all {
		return nil
	}
	if v.names == nil {
		return []string{}
	}
	return v.names
}

type identifiers struct {
	seen  map[string]bool
	names []string
	all   bool
}

func (v *identifiers) Visit(node *ast.Node) {
	id, ok := (*node).(*ast.IdentifierNode)
	if !ok || v.seen[id.Value] || reserved(id.Value) {
		return
	}
	if strings.HasPrefix(id.Value, "$") {
		v.all = true // $env: the expression may read any field
	}
	v.seen[id.Value] = true
	v.names = append(v.names, id.Value)
}

// reserved reports whether name is one the compiled program uses for itself (the budget
// and the functions that charge it), not an event field.
func reserved(name string) bool {
	switch name {
	case budgetName, costFn, repeatFn, replaceFn:
		return true
	}
	return false
}

// nilSafeMembers turns every `a.b` and `a["b"]` into `a?.b` / `a?.["b"]`, so a path
// through a missing field yields nil rather than "cannot fetch b from <nil>".
type nilSafeMembers struct{}

func (nilSafeMembers) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok || m.Optional {
		return
	}
	m.Optional = true
	ast.Patch(node, &ast.ChainNode{Node: m})
}
