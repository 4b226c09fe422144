package condition

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/expr-lang/expr"

	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/internal/jsonbytes"
	"github.com/auditship/auditship/pipeline"
)

const sample = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","stage":"ResponseComplete",
"verb":"create","requestURI":"/api/v1/namespaces/default/pods/web/exec?command=sh",
"user":{"username":"alice@example.com","groups":["devs","system:authenticated"]},
"objectRef":{"resource":"pods","namespace":"default","name":"web","subresource":"exec","apiVersion":"v1"},
"responseStatus":{"metadata":{},"code":403},
"annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""}}`

const healthz = `{"kind":"Event","level":"Metadata","stage":"ResponseComplete","verb":"get",
"requestURI":"/healthz","user":{"username":"system:anonymous"}}`

func fields(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := jsonbytes.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEval(t *testing.T) {
	tests := []struct {
		expr  string
		event string
		want  bool
	}{
		{`verb == "create"`, sample, true},
		{`user.username startsWith "system:"`, sample, false},
		{`user.username startsWith "system:"`, healthz, true},
		{`objectRef?.resource == "pods"`, sample, true},
		{`objectRef.resource == "pods"`, healthz, false},
		{`objectRef.subresource in ["exec", "attach"]`, sample, true},
		{`responseStatus.code == 403`, sample, true},
		{`responseStatus.code in [401, 403]`, sample, true},
		{`(responseStatus.code ?? 0) >= 400`, healthz, false},
		{`annotations["authorization.k8s.io/decision"] == "forbid"`, sample, true},
		{`annotations["authorization.k8s.io/decision"] == "forbid"`, healthz, false},
		{`"devs" in user.groups`, sample, true},
		{`requestURI matches "^/(healthz|livez|readyz)"`, healthz, true},
		{`objectRef == nil`, healthz, true},
		{`a.b.c.d == nil`, healthz, true},
		// A member of something that is not an object is nil too (expr itself would fail
		// the evaluation, and a drop filter would then keep the event as an error).
		{`verb.foo == nil`, healthz, true},
		{`objectRef == nil && nil != verb`, `{"objectRef":null,"verb":"get"}`, true},
		{`objectRef == nil && $env.verb == "get"`, `{"verb":"get","objectRef":{"resource":"pods"}}`, false},
		{`objectRef != nil && $env.verb == "get"`, `{"verb":"get","objectRef":{"resource":"pods"}}`, true},
		// Keys may hold anything: two paths that differ only in where a NUL falls are two paths.
		{`user.a.b == "y" && user["a\u0000b"] == "x"`, `{"user":{"a":{"b":"y"},"a\u0000b":"x"}}`, true},
		{`objectRef != nil`, `{"objectRef":{}}`, true},
		{`user.username.x == nil && user.username != nil`, healthz, true},
		{`impersonatedUser.username == "bob"`, sample, false},
		// Numbers are kept as their text in the event; expressions see them as numbers,
		// integers exactly (2^53+1 is not 2^53), whole or inside an object ($env).
		{`n == 9007199254740993 && n > 9007199254740992 && n % 2 == 1`, `{"n":9007199254740993}`, true},
		{`o.n == 1500 && o.f < 0 && o.z == 0 && o.big > 1e308`, `{"o":{"n":1.5e3,"f":-2.5E-3,"z":-0,"big":1e400}}`, true},
		{`$env.o.n == 1.0 && $env.a[1] == 2`, `{"o":{"n":1.0},"a":[1,2.0]}`, true},
		{`responseStatus.code in [401, 403] && responseStatus.code >= 400`, sample, true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			c, err := Compile(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Eval(fields(t, tt.event))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			ev, err := pipeline.NewRawEvent([]byte(tt.event), pipeline.SourceAudit)
			if err != nil {
				// Lines the fast path declines (escaped keys) are decoded whole, as parse does.
				ev = pipeline.NewEvent(nil, fields(t, tt.event), pipeline.SourceAudit)
			}
			if got, err := c.EvalEvent(ev); err != nil || got != tt.want {
				t.Fatalf("EvalEvent = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		expr, want string
	}{
		{``, "empty"},
		{`verb ==`, "unexpected token EOF"},
		{`"x"`, "expected bool"},
		{`verb in [`, "compile"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := Compile(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
}

func TestEvalDoesNotMutate(t *testing.T) {
	c, err := Compile(`user.username == "x" || objectRef.name == "y"`)
	if err != nil {
		t.Fatal(err)
	}
	f := fields(t, healthz)
	before, _ := json.Marshal(f)
	if _, err := c.Eval(f); err != nil {
		t.Fatal(err)
	}
	after, _ := json.Marshal(f)
	if string(before) != string(after) {
		t.Fatalf("fields changed: %s -> %s", before, after)
	}
}

func TestEvalErrorIsReported(t *testing.T) {
	// Ordering a missing number is an error, not false: the filter then fails closed.
	c, err := Compile(`responseStatus.code >= 400`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Eval(fields(t, healthz)); err == nil || !strings.Contains(err.Error(), "responseStatus.code >= 400") {
		t.Fatalf("err = %v", err)
	}
}

// TestEvalEventAgrees: evaluating over the event (decoding only the fields named) gives
// what evaluating over the whole decoded map gives.
func TestEvalEventAgrees(t *testing.T) {
	exprs := []string{
		`objectRef?.resource == "leases" && verb in ["get", "update", "patch"]`,
		`objectRef == nil && requestURI matches "^/(healthz|livez|readyz|metrics)"`,
		`let u = user.username ?? ""; u startsWith "system:" && !(verb in ["get"])`,
		`responseStatus.code in [401, 403] || annotations["authorization.k8s.io/decision"] == "forbid"`,
		`$env["verb"] == "get"`,
		`requestObject.kind == "Secret" || len(requestObject?.metadata?.managedFields ?? []) > 2`,
		`missing == nil`,
		`true`,
		`objectRef == nil && $env.verb == "get"`,
		`objectRef != nil && $env["verb"] == "get" || user.username == "x"`,
		`nil != responseObject && requestObject == nil || objectRef != nil && verb == "watch"`,
		`user["username"] startsWith "system:" || user.extra["x"][0] == "y" || "system:masters" in user.groups`,
		`let user = {"username": "x"}; user.username == "x" && objectRef?.resource != nil`,
		`objectRef == nil || objectRef.resource == "pods" && objectRef.namespace == "kube-system"`,
		`requestObject.metadata.name startsWith "a" || responseObject?.metadata?.labels?.app == "web"`,
		`responseStatus.code >= 400`,
		`all(user.groups, # startsWith "system:") && len(user.groups) > 1`,
	}
	g := gen.New(3)
	for _, src := range exprs {
		c, err := Compile(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		// ref is the expression as written, over the whole decoded event: what the
		// member paths compiled into identifiers must agree with.
		ref, err := expr.Compile(src, expr.AllowUndefinedVariables(), expr.AsBool(), expr.Patch(nilSafeMembers{}))
		if err != nil {
			t.Fatal(err)
		}
		matched := 0
		for i := 0; i < 400; i++ {
			line := g.Event(i)
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatal(err)
			}
			want, werr := c.Eval(m)
			out, rerr := expr.Run(ref, m)
			if (rerr == nil) != (werr == nil) || rerr == nil && out != want {
				t.Fatalf("%s on event %d: Eval = %v, %v; as written = %v, %v", src, i, want, werr, out, rerr)
			}
			ev, err := pipeline.NewRawEvent(line, pipeline.SourceAudit)
			if err != nil {
				t.Fatal(err)
			}
			got, gerr := c.EvalEvent(ev)
			if got != want || (gerr == nil) != (werr == nil) {
				t.Fatalf("%s on event %d: EvalEvent = %v, %v; Eval = %v, %v", src, i, got, gerr, want, werr)
			}
			if got {
				matched++
			}
		}
		if matched == 0 && src != `missing == nil` {
			t.Logf("%s matched no event", src)
		}
	}
}
