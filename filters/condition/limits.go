package condition

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
)

// Limits of one evaluation. An expression runs once per event on the agent's hot path,
// so what one evaluation may cost is bounded whatever the expression or the event:
//
//   - MaxCost units: one per step of a closure (all, any, map, filter, reduce, ...), plus
//     the size of every value the expression builds (bytes of a string, elements of a
//     list or map, counted deeply). Building is charged where it happens (a closure's
//     result, `+`, a list or map written with non-constant members, a builtin that
//     returns a new value), so no value can outgrow the budget: a string doubled in
//     reduce stops at about MaxCost bytes, three loops nested over 1..400 stop after
//     MaxCost steps.
//   - MaxDuration of wall time, checked as units are charged: the backstop for steps that
//     are each cheap in units but not in time (comparing two large event objects in every
//     step of a long loop).
//
// expr-lang's own memory budget (1e6 elements for ranges and lists it allocates) applies
// as well, and so does its limit on the size of the expression (10,000 nodes).
const (
	MaxCost     = 1 << 18
	MaxDuration = 250 * time.Millisecond
)

// ErrBudget is the error of an evaluation stopped for exceeding MaxCost or MaxDuration.
var ErrBudget = errors.New("evaluation exceeds its cost budget")

// budget is the cost one evaluation may still spend; it lives in the environment under
// budgetName, so each concurrent evaluation has its own.
type budget struct {
	left     int
	charges  int
	deadline time.Time
}

// budgetName is the environment key of the evaluation's budget: no expression can spell it.
const budgetName = pathMark + "budget"

// costFn, repeatFn and replaceFn are the functions the cost patch calls; pathMark keeps
// them out of reach of the expression's own text.
const (
	costFn    = pathMark + "cost"
	repeatFn  = pathMark + "repeat"
	replaceFn = pathMark + "replace"
)

func newBudget() *budget {
	return &budget{left: MaxCost, deadline: time.Now().Add(MaxDuration)}
}

func (b *budget) charge(n int) error {
	b.left -= n
	if b.left < 0 {
		return ErrBudget
	}
	// time.Now costs tens of nanoseconds: look at the clock every 64 charges.
	if b.charges++; b.charges&63 == 0 && time.Now().After(b.deadline) {
		return ErrBudget
	}
	return nil
}

// sizeOf is v's size in cost units (a string's bytes, a list's or map's elements,
// counted deeply, at least 1), counted no further than limit.
func sizeOf(v any, limit int) int {
	n := 1
	switch x := v.(type) {
	case string:
		n += len(x)
	case []any:
		for _, e := range x {
			if n += sizeOf(e, limit-n); n > limit {
				return n
			}
		}
	case map[string]any:
		for k, e := range x {
			if n += len(k) + sizeOf(e, limit-n); n > limit {
				return n
			}
		}
	case []string:
		for _, e := range x {
			if n += 1 + len(e); n > limit {
				return n
			}
		}
	case nil, bool, int, float64:
	default:
		// Other shapes builtins return ([]int, map[any][]any from groupBy, ...).
		rv := reflect.ValueOf(v)
		switch rv.Kind() {
		case reflect.Slice, reflect.Array:
			for i := 0; i < rv.Len(); i++ {
				if n += sizeOf(rv.Index(i).Interface(), limit-n); n > limit {
					return n
				}
			}
		case reflect.Map:
			it := rv.MapRange()
			for it.Next() {
				if n += sizeOf(it.Key().Interface(), limit-n) + sizeOf(it.Value().Interface(), limit-n); n > limit {
					return n
				}
			}
		case reflect.String:
			n += rv.Len()
		}
	}
	return n
}

func budgetOf(v any) (*budget, error) {
	b, ok := v.(*budget)
	if !ok || b == nil {
		// Only reachable if the patch and the environment disagree: fail closed.
		return nil, errors.New("no evaluation budget")
	}
	return b, nil
}

// cost charges the size of the value an expression just built and returns it.
func cost(params ...any) (any, error) {
	b, err := budgetOf(params[0])
	if err != nil {
		return nil, err
	}
	v := params[1]
	if err := b.charge(sizeOf(v, b.left+1)); err != nil {
		return nil, err
	}
	return v, nil
}

// repeat is expr's repeat(s, n) with the result's size charged before it is built
// (expr's own caps n, not n times the length of s).
func repeat(params ...any) (any, error) {
	b, err := budgetOf(params[0])
	if err != nil {
		return nil, err
	}
	s, ok := params[1].(string)
	n, okN := params[2].(int)
	if !ok || !okN {
		return nil, fmt.Errorf("repeat(string, int): got (%T, %T)", params[1], params[2])
	}
	if n < 0 {
		return nil, errors.New("repeat: negative count")
	}
	if len(s) > 0 && n > MaxCost/len(s) {
		return nil, ErrBudget
	}
	if err := b.charge(1 + len(s)*n); err != nil {
		return nil, err
	}
	return strings.Repeat(s, n), nil
}

// replace is expr's replace(s, old, new) with the result's size charged before it is
// built: replacing in a long string with a long string multiplies their lengths.
func replace(params ...any) (any, error) {
	b, err := budgetOf(params[0])
	if err != nil {
		return nil, err
	}
	s, ok1 := params[1].(string)
	old, ok2 := params[2].(string)
	repl, ok3 := params[3].(string)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("replace(string, string, string): got (%T, %T, %T)", params[1], params[2], params[3])
	}
	n := strings.Count(s, old)
	if old == "" {
		n = utf8.RuneCountInString(s) + 1
	}
	size := len(s)
	if grow := len(repl) - len(old); grow > 0 {
		if n > 0 && grow > MaxCost/n {
			return nil, ErrBudget
		}
		size += n * grow
	}
	if err := b.charge(1 + size); err != nil {
		return nil, err
	}
	return strings.ReplaceAll(s, old, repl), nil
}

// limitOptions are the compile options that bound evaluation; see MaxCost. c records
// whether the program charges anything (most filters build nothing and need no budget).
func limitOptions(c *costs) []expr.Option {
	return []expr.Option{
		expr.DisableBuiltin("repeat"),
		expr.DisableBuiltin("replace"),
		expr.Function(costFn, cost),
		expr.Function(repeatFn, repeat, new(func(any, string, int) string)),
		expr.Function(replaceFn, replace, new(func(any, string, string, string) string)),
		expr.Patch(c),
	}
}

// cheapResults are the builtins whose result is a scalar, a value that already exists
// (an element of their argument) or no larger than their argument: nothing new to charge,
// so lower(a 300 KB annotation) costs nothing however large the event. toBase64, toJSON,
// string and join are charged: nested, each can multiply its argument's size.
var cheapResults = map[string]bool{
	"all": true, "none": true, "any": true, "one": true, "count": true, "sum": true,
	"find": true, "findIndex": true, "findLast": true, "findLastIndex": true,
	"len": true, "type": true, "abs": true, "ceil": true, "floor": true, "round": true,
	// No longer than their argument, which is the event's or was charged when built.
	"lower": true, "upper": true, "trim": true, "trimPrefix": true, "trimSuffix": true,
	"split": true, "splitAfter": true, "fromBase64": true,
	"int": true, "float": true, "indexOf": true, "lastIndexOf": true,
	"hasPrefix": true, "hasSuffix": true, "max": true, "min": true, "mean": true,
	"median": true, "now": true, "duration": true, "date": true, "timezone": true,
	"first": true, "last": true, "get": true, "reduce": true,
	"bitand": true, "bitor": true, "bitxor": true, "bitnand": true, "bitnot": true,
	"bitshl": true, "bitshr": true, "bitushr": true,
}

// costs charges what an expression builds (see MaxCost): each closure step and its
// result, `+`, lists and maps with non-constant members, and builtins that build a
// value; repeat and replace become versions that charge before they build.
type costs struct {
	// used: the program charges the budget, so each evaluation needs one.
	used bool
}

func (c *costs) Visit(node *ast.Node) {
	before := *node
	defer func() {
		if *node != before {
			c.used = true
		}
	}()
	switch n := (*node).(type) {
	case *ast.PredicateNode:
		n.Node = charged(n.Node)
		c.used = true
	case *ast.BinaryNode:
		if n.Operator == "+" {
			ast.Patch(node, charged(n))
		}
	case *ast.ArrayNode:
		if !constant(n) {
			ast.Patch(node, charged(n))
		}
	case *ast.MapNode:
		if !constant(n) {
			ast.Patch(node, charged(n))
		}
	case *ast.BuiltinNode:
		if !cheapResults[n.Name] {
			ast.Patch(node, charged(n))
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		switch id.Value {
		case "repeat":
			id.Value = repeatFn
		case "replace":
			id.Value = replaceFn
		default:
			return
		}
		n.Arguments = append([]ast.Node{&ast.IdentifierNode{Value: budgetName}}, n.Arguments...)
		c.used = true
	}
}

func charged(n ast.Node) ast.Node {
	return &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: costFn},
		Arguments: []ast.Node{&ast.IdentifierNode{Value: budgetName}, n},
	}
}

// constant reports whether node is a literal made of literals (["get", "list"]): its
// size is bounded by the expression's, and expr-lang turns `in` over it into a set.
func constant(node ast.Node) bool {
	switch n := node.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode:
		return true
	case *ast.ArrayNode:
		for _, e := range n.Nodes {
			if !constant(e) {
				return false
			}
		}
		return true
	case *ast.MapNode:
		for _, p := range n.Pairs {
			pair, ok := p.(*ast.PairNode)
			if !ok || !constant(pair.Key) || !constant(pair.Value) {
				return false
			}
		}
		return true
	case *ast.UnaryNode:
		return constant(n.Node)
	}
	return false
}

// knownFunctions are the names an expression may call: expr-lang's builtins (those
// not replaced) and the replacements.
func knownFunctions() map[string]bool {
	known := map[string]bool{"repeat": true, "replace": true}
	for _, f := range builtin.Builtins {
		known[f.Name] = true
	}
	return known
}
