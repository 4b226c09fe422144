package condition

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestUnknownNamesRefused: a call that can never succeed fails at compile time instead of
// failing every evaluation (and so dropping every event while validate says OK).
func TestUnknownNamesRefused(t *testing.T) {
	tests := []struct{ expr, want string }{
		{`not hasprefix(user.username, "system:")`, "unknown function hasprefix (did you mean hasPrefix?) (1:5)"},
		{`!HasPrefix(user.username, "system:")`, "did you mean hasPrefix?"},
		{`lenght(user.groups) > 0`, "unknown function lenght"},
		{`startswith(verb, "g")`, "unknown function startswith"},
		{`verb | lowercase() == "get"`, "unknown function lowercase"},
		{`any(user.groups, includes(#, "admin"))`, "unknown function includes"},
		{"verb == \"get\" &&\n  tolower(verb) == \"get\"", "unknown function tolower (2:3)"},
		{`user.username.hasPrefix("system:")`, "method calls are not supported"},
		{`let f = verb; f() == "get"`, "unknown function f"},
		{`$event.verb == "get"`, "unknown variable $event"},
		// Wrong arity and types of known functions: expr-lang's checker.
		{`hasPrefix(user.username)`, "compile"},
		{`len() > 0`, "compile"},
		{`lower(verb, verb) == "get"`, "compile"},
		{`all(user.groups)`, "compile"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := Compile(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// Event fields stay open-ended: a field no event has is nil, not an error.
	for _, ok := range []string{
		`usr.username == "alice"`,
		`hasPrefix(user.username, "system:")`,
		`not hasPrefix(user.username, "system:") && (verb | lower()) == "get"`,
		`$env.verb == "get"`,
		`let f = verb; f == "get"`,
		`any(user.groups, # contains "admin")`,
	} {
		if _, err := Compile(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// TestDryRunRefusesExpressionsFailingEverywhere: an expression that fails on every sample
// event would drop every event (fail-closed); compile says so.
func TestDryRunRefusesExpressionsFailingEverywhere(t *testing.T) {
	for _, src := range []string{
		`user.username + 1 == 2`,
		`impersonatedUser.username > 3`,
		`duration(verb) > duration("1h")`,
		`int(user.username) > 0`,
	} {
		_, err := Compile(src)
		if err == nil || !strings.Contains(err.Error(), "fails on every sample event") {
			t.Errorf("%s: err = %v, want the dry run to refuse it", src, err)
		}
	}
}

// TestCostlyExpressionsRefused: expressions whose cost has no bound in the event are
// refused by the dry run (they exceed the budget on the samples already).
func TestCostlyExpressionsRefused(t *testing.T) {
	lets := func(n int, build string) string {
		var b strings.Builder
		b.WriteString("let v0 = verb; ")
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "let v%d = %s; ", i, strings.ReplaceAll(build, "P", fmt.Sprintf("v%d", i-1)))
		}
		return b.String()
	}
	for _, src := range []string{
		`let r = 1..400; !all(r, all(r, all(r, verb != "")))`,
		`any(1..1000, any(1..1000, # == 7 && verb == "x"))`,
		`reduce(1..40, #acc + #acc, "ab") != ""`,
		`reduce(1..40, concat(#acc, #acc), [verb]) != nil`,
		`reduce(1..40, [#acc, #acc], [verb]) != nil`,
		`reduce(1..40, ({"a": #acc, "b": #acc}), verb) != nil`,
		`len(map(1..100000, requestURI)) > 0`,
		lets(40, "P + P") + `len(v40) > 0`,
		lets(40, "[P, P]") + `len(flatten(v40)) > 0`,
		lets(40, "[P, P]") + `len(toJSON(v40)) > 0`,
		lets(40, "{'a': P, 'b': P}") + `v40 != nil`,
		`repeat(verb, 1000000) != ""`,
		`repeat(repeat(verb, 1000), 1000) != ""`,
		`replace(repeat("a", 1000), "a", repeat("b", 1000)) != ""`,
		`replace(repeat("a", 600), "", repeat("b", 600)) != ""`,
		`len(1..100000000) > 0`,
		`len(sort(1..900000)) > 0`,
		// Within the budget, but far above what an ordinary event should cost.
		`let r = 1..400; !all(r, all(r, verb != ""))`,
		`len(map(1..20000, requestURI)) > 0`,
	} {
		_, err := Compile(src)
		if err == nil || !strings.Contains(err.Error(), "budget") {
			t.Errorf("%.80s: err = %v, want it refused for its cost", src, err)
		}
	}
}

// TestEvaluationStopsAtBudget: an expression the samples let through is still stopped on
// an event that makes it costly, with ErrBudget (the filter then fails closed).
func TestEvaluationStopsAtBudget(t *testing.T) {
	c, err := Compile(`all(user.groups, all(user.groups, all(user.groups, # != "")))`)
	if err != nil {
		t.Fatal(err)
	}
	groups := make([]any, 300)
	for i := range groups {
		groups[i] = fmt.Sprintf("group-%d", i)
	}
	_, err = c.Eval(map[string]any{"user": map[string]any{"groups": groups}})
	if !errors.Is(err, ErrBudget) {
		t.Fatalf("err = %v, want ErrBudget", err)
	}
	// The same expression over a usual event is fine.
	if ok, err := c.Eval(map[string]any{"user": map[string]any{"groups": groups[:5]}}); err != nil || !ok {
		t.Fatalf("= %v, %v", ok, err)
	}
	c, err = Compile(`reduce(user.groups, #acc + #acc, "x") != ""`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Eval(map[string]any{"user": map[string]any{"groups": groups}}); !errors.Is(err, ErrBudget) {
		t.Fatalf("string doubling over the event's groups: err = %v, want ErrBudget", err)
	}
}

// TestLargeEventValuesAreNotCharged: reading and lowering a large value of the event
// costs nothing; the budget is for what the expression builds and loops over.
func TestLargeEventValuesAreNotCharged(t *testing.T) {
	big := strings.Repeat("Last-Applied ", 100_000) // 1.3 MB, five times MaxCost
	for _, src := range []string{
		`lower((annotations["kubectl.kubernetes.io/last-applied-configuration"] ?? "")) contains "last-applied"`,
		`trim(upper((annotations["kubectl.kubernetes.io/last-applied-configuration"] ?? ""))) startsWith "LAST"`,
		`len(split(annotations["kubectl.kubernetes.io/last-applied-configuration"] ?? "", " ")) > 3`,
		`annotations["kubectl.kubernetes.io/last-applied-configuration"] matches "Applied"`,
	} {
		c, err := Compile(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		ok, err := c.Eval(map[string]any{"annotations": map[string]any{"kubectl.kubernetes.io/last-applied-configuration": big}})
		if err != nil || !ok {
			t.Errorf("%.60s: = %v, %v", src, ok, err)
		}
	}
}

// TestEvalErrorQuotesNoEventText: an evaluation error names the expression, the class of
// failure and its position, never what the event held.
func TestEvalErrorQuotesNoEventText(t *testing.T) {
	c, err := Compile(`duration(annotations["x"] ?? "1s") > duration("1h")`)
	if err != nil {
		t.Fatal(err)
	}
	secret := "s3cr3t-TOKEN-value"
	_, err = c.Eval(map[string]any{"annotations": map[string]any{"x": secret}})
	var ee *EvalError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v (%T), want *EvalError", err, err)
	}
	if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(ee.Class, "s3cr3t") {
		t.Fatalf("error quotes the event: %v", err)
	}
	if ee.Class != "invalid duration" {
		t.Fatalf("class = %q", ee.Class)
	}
	if ee.Pos == "" {
		t.Fatalf("no position in %v", err)
	}
}

// TestMatchesPatterns: a `matches` pattern must be a string literal whose compiled program
// is small; one match is a single step the evaluation budget cannot interrupt, and
// "(a|aa){1000}b" took 12.6 s on one event with a 200 KB requestURI.
func TestMatchesPatterns(t *testing.T) {
	for _, tc := range []struct {
		src, want string // want "" compiles
	}{
		{`requestURI matches "^/(healthz|livez|readyz|metrics)"`, ""},
		{`objectRef?.resource matches "^(secrets|configmaps)$" && verb == "get"`, ""},
		{`requestURI matches "(a|aa){1000}b"`, "too complex"},
		{`requestURI matches ".{0,253}x"`, "too complex"},
		{`verb == "get" ? requestURI matches "(x+x+)+y{500}" : false`, "too complex"},
		{`let p = "(a|aa){1000}b"; requestURI matches p`, "constant pattern"},
		{`verb matches requestURI + "["`, "constant pattern"},
		{`requestURI matches user.username`, "constant pattern"},
		{`any(user.groups, # matches verb)`, "constant pattern"},
		{`requestURI matches "(unclosed"`, "invalid pattern"},
	} {
		_, err := Compile(tc.src)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.src, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", tc.src, err, tc.want)
		}
	}
}
