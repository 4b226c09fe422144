// Per-event evaluation: the values an expression reads are put in a pooled environment,
// numbers converted as expr-lang compares them, and the program run under its budget.

package condition

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"

	"github.com/auditship/auditship/internal/jsonbytes"
	"github.com/auditship/auditship/pipeline"
)

// Eval runs the expression over fields, the event's decoded JSON as jsonbytes.Unmarshal
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
		v, ok := jsonbytes.Walk(fields, r.path)
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
			return true, k != jsonbytes.KindAbsent && k != jsonbytes.KindNull
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
