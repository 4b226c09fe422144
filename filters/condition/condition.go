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
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/auditship/auditship/pipeline"
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

// String returns the source expression.
func (c *Condition) String() string { return c.src }

// Eval runs the expression over fields, the event's decoded JSON as pipeline.DecodeJSON
// decodes it (numbers as json.Number). The expression sees each number as an int64 when
// its text is an integer that fits, else as a float64, so `responseStatus.code == 403`
// and `>= 400` compare numerically. It never modifies fields.
func (c *Condition) Eval(fields map[string]any) (bool, error) { return c.eval(fields, nil) }

// eval is Eval with the budget b (nil: a fresh one).
func (c *Condition) eval(fields map[string]any, b *budget) (bool, error) {
	if c.refs == nil {
		return c.runAll(fields, b)
	}
	return c.evalRefs(func(r *ref) (any, bool) {
		v, ok := pipeline.Walk(fields, r.path)
		if r.present {
			return true, ok && v != nil
		}
		return v, ok
	}, b)
}

// EvalEvent is Eval over ev, decoding only the values the expression reads.
func (c *Condition) EvalEvent(ev *pipeline.Event) (bool, error) {
	if c.refs == nil {
		return c.runAll(ev.Fields(), nil)
	}
	return c.evalRefs(func(r *ref) (any, bool) {
		if r.present {
			k := ev.Kind(r.path[0])
			return true, k != pipeline.KindAbsent && k != pipeline.KindNull
		}
		return ev.Path(r.path...)
	}, nil)
}

func (c *Condition) evalRefs(get func(r *ref) (any, bool), b *budget) (bool, error) {
	env, _ := c.envs.Get().(map[string]any)
	if env == nil {
		env = make(map[string]any, len(c.refs))
	}
	for i := range c.refs {
		if v, ok := get(&c.refs[i]); ok {
			env[c.refs[i].name] = exprValue(v)
		}
	}
	match, err := c.run(env, b)
	clear(env) // the pooled map must not keep the event alive
	c.envs.Put(env)
	return match, err
}

// runAll evaluates over every field ($env), numbers as exprValue gives them: over a copy
// of fields when numbers were converted or a budget is to be added, so that the event is
// not changed.
func (c *Condition) runAll(fields map[string]any, b *budget) (bool, error) {
	v, copied := numbersOut(fields)
	env, _ := v.(map[string]any)
	if c.budgeted && !copied {
		env = make(map[string]any, len(fields)+1)
		maps.Copy(env, fields)
	}
	return c.run(env, b)
}

// run evaluates over env, adding the evaluation's budget to it (b, or a fresh one when
// nil) if the program charges one.
func (c *Condition) run(env map[string]any, b *budget) (bool, error) {
	if c.budgeted {
		if b == nil {
			b = newBudget()
		}
		env[budgetName] = b
	}
	out, err := expr.Run(c.prog, env)
	if err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		if strings.HasPrefix(msg, "memory budget exceeded") {
			// expr-lang's own budget (ranges, lists): the same kind as MaxCost.
			err = fmt.Errorf("%w (%s)", ErrBudget, msg)
		}
		return false, newEvalError(c.src, msg, err)
	}
	match, ok := out.(bool)
	if !ok {
		return false, newEvalError(c.src, fmt.Sprintf("result is %T, not bool", out), nil)
	}
	return match, nil
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

// exprValue returns v as an expression sees it: every json.Number in it (an event's number,
// kept as its text so that it is written out unchanged) as an int64 when the text is an
// integer in int64's range, else as the float64 strconv.ParseFloat makes of it (±Inf past
// float64's range). Objects and arrays that hold numbers are copied, never changed.
func exprValue(v any) any {
	nv, _ := numbersOut(v)
	return nv
}

// numbersOut is exprValue that also reports whether it made a new value.
func numbersOut(v any) (any, bool) {
	switch t := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i, true
		}
		f, _ := strconv.ParseFloat(string(t), 64)
		return f, true
	case map[string]any:
		var out map[string]any
		for k, x := range t {
			nx, changed := numbersOut(x)
			if !changed {
				continue
			}
			if out == nil {
				out = maps.Clone(t)
			}
			out[k] = nx
		}
		if out == nil {
			return t, false
		}
		return out, true
	case []any:
		var out []any
		for i, x := range t {
			nx, changed := numbersOut(x)
			if !changed {
				continue
			}
			if out == nil {
				out = slices.Clone(t)
			}
			out[i] = nx
		}
		if out == nil {
			return t, false
		}
		return out, true
	}
	return v, false
}
