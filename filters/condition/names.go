// Load-time checks of an expression's names and patterns: what undefined variables would
// otherwise let through and fail on every event is refused when the config is loaded.

package condition

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
)

// unknownNames rejects what undefined variables would otherwise let through and fail on
// every event: a call of a function that does not exist (hasprefix for hasPrefix; expr-lang
// parses builtins on their own, so any other call is unknown), a method call (values
// from an event have none) and a $-variable other than $env. Event fields stay open:
// a field no event has is nil, not an error.
func unknownNames(src string, node ast.Node) error {
	v := &unknowns{src: file.NewSource(src)}
	ast.Walk(&node, v)
	return v.err
}

type unknowns struct {
	src file.Source
	err error
}

// at is where n is in the source, line:column as expr-lang's own errors give it.
func (v *unknowns) at(n ast.Node) string {
	e := (&file.Error{Location: n.Location()}).Bind(v.src)
	return fmt.Sprintf("(%d:%d)", e.Line, e.Column+1)
}

func (v *unknowns) Visit(node *ast.Node) {
	if v.err != nil {
		return
	}
	switch n := (*node).(type) {
	case *ast.CallNode:
		switch callee := n.Callee.(type) {
		case *ast.IdentifierNode:
			v.err = fmt.Errorf("unknown function %s%s %s", callee.Value, suggest(callee.Value), v.at(n))
		default:
			v.err = fmt.Errorf("method calls are not supported; call a function such as hasPrefix(s, p) %s", v.at(n))
		}
	case *ast.IdentifierNode:
		if strings.HasPrefix(n.Value, "$") && n.Value != "$env" {
			v.err = fmt.Errorf("unknown variable %s; the event is $env %s", n.Value, v.at(n))
		}
	case *ast.BinaryNode:
		if n.Operator == "matches" {
			v.err = checkPattern(n.Right)
			if v.err != nil {
				v.err = fmt.Errorf("%w %s", v.err, v.at(n))
			}
		}
	}
}

// MaxPatternInsts bounds the compiled size of a `matches` pattern. Go's regexp runs in
// time linear in the text but proportional to the compiled program, and one match is a
// single step the evaluation budget cannot interrupt: "(a|aa){1000}b" (about 3,000
// instructions) took 12.6 s on one event with a 200 KB requestURI. Patterns filters use
// ("^/(healthz|livez|readyz|metrics)") compile to a few dozen.
const MaxPatternInsts = 300

// checkPattern refuses a `matches` pattern that is not a string literal (a pattern built
// from event text is the event's author's to choose, and compiled per event) or whose
// compiled program is larger than MaxPatternInsts.
func checkPattern(right ast.Node) error {
	lit, ok := right.(*ast.StringNode)
	if !ok {
		return errors.New("matches needs a constant pattern (a string literal), not one built from the event")
	}
	re, err := syntax.Parse(lit.Value, syntax.Perl)
	if err != nil {
		return fmt.Errorf("invalid pattern for matches: %w", err)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return fmt.Errorf("invalid pattern for matches: %w", err)
	}
	if n := len(prog.Inst); n > MaxPatternInsts {
		return fmt.Errorf("pattern for matches too complex: %d instructions compiled, at most %d (a match costs time in proportion to the text times this; large counted repeats such as {1000} are the usual cause)", n, MaxPatternInsts)
	}
	return nil
}

// suggest names the known function name differs from only in case, if any.
func suggest(name string) string {
	for known := range knownFunctions() {
		if strings.EqualFold(known, name) {
			return fmt.Sprintf(" (did you mean %s?)", known)
		}
	}
	return ""
}
