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
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/auditship/auditship/pipeline"
)

// Condition is a compiled boolean expression over an event's fields.
type Condition struct {
	src  string
	prog *vm.Program
	// names are the top-level fields the expression can read; nil when it can read any
	// ($env). Evaluating over an event decodes only these.
	names []string
	// envs recycles the small maps EvalEvent evaluates over (one per event otherwise).
	envs sync.Pool
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
	return &Condition{src: src, prog: prog, names: topNames(prog.Node())}, nil
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
	return v.names
}

type identifiers struct {
	seen  map[string]bool
	names []string
	all   bool
}

func (v *identifiers) Visit(node *ast.Node) {
	id, ok := (*node).(*ast.IdentifierNode)
	if !ok || v.seen[id.Value] {
		return
	}
	if strings.HasPrefix(id.Value, "$") {
		v.all = true // $env: the expression may read any field
	}
	v.seen[id.Value] = true
	v.names = append(v.names, id.Value)
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

// EvalEvent is Eval over ev, decoding only the top-level fields the expression names.
func (c *Condition) EvalEvent(ev *pipeline.Event) (bool, error) {
	if c.names == nil {
		return c.Eval(ev.Fields())
	}
	env, _ := c.envs.Get().(map[string]any)
	if env == nil {
		env = make(map[string]any, len(c.names))
	}
	for _, k := range c.names {
		if v, ok := ev.Lookup(k); ok {
			env[k] = v
		}
	}
	match, err := c.Eval(env)
	clear(env) // the pooled map must not keep the event alive
	c.envs.Put(env)
	return match, err
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
