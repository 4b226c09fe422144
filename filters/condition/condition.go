// Package condition compiles the expr-lang expressions that filters use to select events.
//
// An expression sees the event as its JSON shape (verb, user.username, objectRef.resource,
// annotations["authorization.k8s.io/decision"], responseStatus.code, ...). Audit events
// leave out whatever does not apply to them (no objectRef on /healthz, no responseStatus
// on RequestReceived), so every field access is nil-safe: a missing field is nil, and so is
// anything read through it, instead of an evaluation error that would drop the event.
package condition

import (
	"errors"
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Condition is a compiled boolean expression over an event's fields.
type Condition struct {
	src  string
	prog *vm.Program
}

// Compile parses and type-checks src once, at load time. The error names the problem
// and its position, e.g. `unexpected token EOF (1:8)`.
func Compile(src string) (*Condition, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("expression is empty")
	}
	prog, err := expr.Compile(src,
		expr.AllowUndefinedVariables(),
		expr.AsBool(),
		expr.Patch(nilSafeMembers{}),
	)
	if err != nil {
		// expr's messages span several lines (the source and a caret); the first line
		// names the problem and its position, which is what a config error line needs.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return nil, fmt.Errorf("compile %q: %s", src, msg)
	}
	return &Condition{src: src, prog: prog}, nil
}

// String returns the source expression.
func (c *Condition) String() string { return c.src }

// Eval runs the expression over fields, the event's decoded JSON (numbers are float64, so
// `responseStatus.code == 403` compares numerically). It never modifies fields.
func (c *Condition) Eval(fields map[string]any) (bool, error) {
	out, err := expr.Run(c.prog, fields)
	if err != nil {
		// The message carries no event content, only the expression and the operation.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return false, fmt.Errorf("evaluate %q: %s", c.src, msg)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("evaluate %q: result is %T, not bool", c.src, out)
	}
	return b, nil
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
