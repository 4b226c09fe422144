// Package condition compiles the expr-lang expressions that filters use to select events.
//
// An expression sees the event as its JSON shape (verb, user.username, objectRef.resource,
// annotations["authorization.k8s.io/decision"], responseStatus.code, ...). Audit events
// leave out whatever does not apply to them (no objectRef on /healthz, no responseStatus
// on RequestReceived), so every field access is nil-safe: a missing field is nil, and so is
// anything read through it, instead of an evaluation error that would drop the event. A
// member of something that is not an object (verb.foo) is nil as well.
package condition

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Condition is a compiled boolean expression over an event's fields.
type Condition struct {
	src  string
	prog *vm.Program
	// refs are what the expression reads: top-level fields and member paths through them
	// (user.username, annotations["..."]); nil when it can read anything ($env).
	// Evaluating over an event decodes only these.
	refs []ref
	// budgeted: the program charges a budget (see MaxCost), which each evaluation then
	// adds to its environment.
	budgeted bool
	// envs recycles the small maps EvalEvent evaluates over (one per event otherwise).
	envs sync.Pool
}

// ref is one value the program reads from its environment: name is the identifier the
// program uses, path where the value is in the event. A member chain with constant keys
// rooted at an event field (user.username) is compiled into one identifier with a path,
// so the event decodes that string alone rather than the whole user object into a map.
type ref struct {
	name string
	path []string
	// present: the program only compares the field with nil (objectRef == nil), so it
	// gets true for a field that is there and not null, without decoding it.
	present bool
}

// Compile parses and type-checks src once, at load time. The error names the problem
// and its position, e.g. `unexpected token EOF (1:8)`.
func Compile(src string) (*Condition, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("expression is empty")
	}
	paths := &memberPaths{paths: map[string][]string{}, present: map[string]string{}}
	if tree, err := parser.Parse(src); err == nil {
		if err := unknownNames(src, tree.Node); err != nil {
			return nil, fmt.Errorf("compile %q: %w", src, err)
		}
		paths.locals = localNames(tree.Node)
	}
	charges := &costs{}
	prog, err := expr.Compile(src, options(charges, expr.Patch(paths))...)
	if err != nil {
		// expr's messages span several lines (the source and a caret); the first line
		// names the problem and its position, which is what a config error line needs.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return nil, fmt.Errorf("compile %q: %s", src, msg)
	}
	c, err := newCondition(src, prog, paths, charges.used)
	if err != nil {
		return nil, err
	}
	if err := c.dryRun(); err != nil {
		return nil, fmt.Errorf("compile %q: %w", src, err)
	}
	return c, nil
}

// newCondition completes Compile: what the program reads from the event.
func newCondition(src string, prog *vm.Program, paths *memberPaths, budgeted bool) (*Condition, error) {
	var err error
	c := &Condition{src: src, prog: prog, budgeted: budgeted}
	names := topNames(prog.Node())
	if names == nil && (len(paths.paths) > 0 || len(paths.present) > 0) {
		// $env reads the environment as a whole, so paths and presence checks cannot be
		// given as identifiers of their own: compile again without them.
		if c.prog, err = expr.Compile(src, options(&costs{})...); err != nil {
			return nil, fmt.Errorf("compile %q: %w", src, err)
		}
		return c, nil
	}
	for _, n := range names {
		r := ref{name: n, path: paths.paths[n]}
		if f, ok := paths.present[n]; ok {
			r.path, r.present = []string{f}, true
		} else if r.path == nil {
			r.path = []string{n}
		}
		c.refs = append(c.refs, r)
	}
	if c.refs == nil && names != nil {
		c.refs = []ref{} // reads nothing (a constant): still not the whole event
	}
	return c, nil
}

// options are the compile options of every expression: undefined variables are event
// fields that are absent (nil), the result is a bool, members are nil-safe and
// evaluation is bounded (see MaxCost). first come before those.
func options(c *costs, first ...expr.Option) []expr.Option {
	opts := append(first, expr.AllowUndefinedVariables(), expr.AsBool(), expr.Patch(nilSafeMembers{}))
	return append(opts, limitOptions(c)...)
}

// String returns the source expression.
func (c *Condition) String() string { return c.src }
