package condition

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DryRunTimeout bounds how long Compile's dry run over the sample events may take.
const DryRunTimeout = 5 * time.Second

// MaxSampleCost is what an evaluation may cost on one of the (small, ordinary) sample
// events: a sixteenth of MaxCost. An expression above it would spend tens of
// milliseconds on ordinary events (loops nested over ranges), and the whole budget on
// larger ones.
const MaxSampleCost = MaxCost / 16

// samples are audit events (audit.k8s.io/v1) of the shapes a filter meets: a request
// with its objects, a denied one with impersonation, a health check without objectRef,
// a RequestReceived without responseStatus, a watch and an admission-webhook-annotated
// delete. Every optional field of the Event schema is present in some and absent in
// others.
var samples = []string{
	`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"5d2c1c52-7f3e-4d4f-9a51-0c8b1f3f0001","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods?fieldManager=kubectl-client-side-apply","verb":"create","user":{"username":"alice@example.com","uid":"u-1","groups":["devs","system:authenticated"],"extra":{"scopes":["openid"]}},"sourceIPs":["10.0.0.7"],"userAgent":"kubectl/v1.31.0 (linux/amd64) kubernetes/abc1234","objectRef":{"resource":"pods","namespace":"default","name":"web","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"default","labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}},"responseObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"default","uid":"p-1","resourceVersion":"1042","labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]},"status":{"phase":"Pending"}},"requestReceivedTimestamp":"2026-01-15T10:00:00.000000Z","stageTimestamp":"2026-01-15T10:00:00.012000Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"devs\""}}`,
	`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"5d2c1c52-7f3e-4d4f-9a51-0c8b1f3f0002","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kube-system/secrets/token","verb":"get","user":{"username":"system:serviceaccount:ci:deployer","uid":"u-2","groups":["system:serviceaccounts","system:serviceaccounts:ci","system:authenticated"]},"impersonatedUser":{"username":"bob","groups":["admins"]},"sourceIPs":["10.0.0.9","192.168.1.4"],"userAgent":"curl/8.5.0","objectRef":{"resource":"secrets","namespace":"kube-system","name":"token","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","message":"forbidden","reason":"Forbidden","code":403},"requestReceivedTimestamp":"2026-01-15T10:00:01.000000Z","stageTimestamp":"2026-01-15T10:00:01.001000Z","annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""}}`,
	`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"5d2c1c52-7f3e-4d4f-9a51-0c8b1f3f0003","stage":"ResponseComplete","requestURI":"/healthz","verb":"get","user":{"username":"system:anonymous","groups":["system:unauthenticated"]},"sourceIPs":["127.0.0.1"],"userAgent":"kube-probe/1.31","responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-01-15T10:00:02.000000Z","stageTimestamp":"2026-01-15T10:00:02.000100Z"}`,
	`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"5d2c1c52-7f3e-4d4f-9a51-0c8b1f3f0004","stage":"RequestReceived","requestURI":"/apis/apps/v1/namespaces/prod/deployments/api","verb":"patch","user":{"username":"carol","groups":["system:authenticated"]},"sourceIPs":["10.0.0.11"],"userAgent":"argocd-application-controller/v2.12","objectRef":{"resource":"deployments","namespace":"prod","name":"api","apiGroup":"apps","apiVersion":"v1"},"requestObject":{"spec":{"replicas":3}},"requestReceivedTimestamp":"2026-01-15T10:00:03.000000Z","stageTimestamp":"2026-01-15T10:00:03.000000Z"}`,
	`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"5d2c1c52-7f3e-4d4f-9a51-0c8b1f3f0005","stage":"ResponseStarted","requestURI":"/api/v1/nodes?watch=true&resourceVersion=100","verb":"watch","user":{"username":"system:node:node-1","groups":["system:nodes","system:authenticated"]},"sourceIPs":["10.0.1.1"],"userAgent":"kubelet/v1.31.0","objectRef":{"resource":"nodes","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-01-15T10:00:04.000000Z","stageTimestamp":"2026-01-15T10:00:04.000200Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}`,
	`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"5d2c1c52-7f3e-4d4f-9a51-0c8b1f3f0006","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/team-a/configmaps/settings","verb":"delete","user":{"username":"dave@example.com","groups":["team-a","system:authenticated"]},"sourceIPs":["10.0.0.12"],"userAgent":"kubectl/v1.31.0","objectRef":{"resource":"configmaps","namespace":"team-a","name":"settings","uid":"c-1","apiVersion":"v1","resourceVersion":"77"},"responseStatus":{"metadata":{},"status":"Success","code":200},"requestObject":{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"},"responseObject":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":"settings","kind":"configmaps","uid":"c-1"}},"requestReceivedTimestamp":"2026-01-15T10:00:05.000000Z","stageTimestamp":"2026-01-15T10:00:05.004000Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"","mutation.webhook.admission.k8s.io/round_0_index_0":"{\"configuration\":\"policy\",\"webhook\":\"policy.example.com\",\"mutated\":false}"}}`,
}

// dryRun evaluates c over the sample events, within DryRunTimeout. It fails when an
// evaluation exceeds its budget (the expression is too costly for every event, not just
// a strange one) and when every sample fails, since a filter then drops every event
// (fail-closed) while `validate` would say the config is fine. Errors here may carry
// the evaluation's message: the samples are the agent's own, not audit evidence.
func (c *Condition) dryRun() error {
	done := make(chan error, 1)
	go func() { done <- c.evalSamples() }()
	t := time.NewTimer(DryRunTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		// Each evaluation stops within MaxDuration, so the goroutine ends on its own.
		return fmt.Errorf("dry run over sample events did not finish within %s", DryRunTimeout)
	}
}

func (c *Condition) evalSamples() error {
	var first error
	failed := 0
	for _, s := range samples {
		var fields map[string]any
		if err := json.Unmarshal([]byte(s), &fields); err != nil {
			return fmt.Errorf("sample event: %w", err) // a bug in this file
		}
		b := newBudget()
		_, err := c.eval(fields, b)
		if errors.Is(err, ErrBudget) {
			return fmt.Errorf("dry run: %s on a sample event; simplify it (see docs/filters.md, expression limits)", err.(*EvalError).detail)
		}
		if spent := MaxCost - b.left; spent > MaxSampleCost {
			return fmt.Errorf("dry run: costs %d units on a sample event, more than %d; an ordinary event should cost far less than the budget of %d (see docs/filters.md, expression limits)", spent, MaxSampleCost, MaxCost)
		}
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
		}
	}
	if failed == len(samples) {
		var ee *EvalError
		detail := first.Error()
		if errors.As(first, &ee) {
			detail = ee.detail
		}
		return fmt.Errorf("dry run: fails on every sample event (%s), so the filter would drop every event; guard fields an event may lack, e.g. (responseStatus.code ?? 0) >= 400", detail)
	}
	return nil
}

// EvalError is an evaluation that failed. Its text names the expression, the class of
// the failure and where in the expression it happened, never the evaluation's own
// message, which can quote the event (`invalid duration "..."`).
type EvalError struct {
	// Expr is the expression's source.
	Expr string
	// Class is the kind of failure, from a fixed list (see classes): "invalid
	// operation", "cost budget exceeded", "invalid duration", ...
	Class string
	// Pos is line:column in Expr, when known.
	Pos string
	// detail is the whole message, for the dry run over the agent's own samples.
	detail string
	err    error
}

func (e *EvalError) Error() string {
	if e.Pos == "" {
		return fmt.Sprintf("evaluate %q: %s", e.Expr, e.Class)
	}
	return fmt.Sprintf("evaluate %q: %s at %s", e.Expr, e.Class, e.Pos)
}

// ErrorClass returns Class: what the engine's log of filter failures is keyed by.
func (e *EvalError) ErrorClass() string { return e.Class }

func (e *EvalError) Unwrap() error { return e.err }

// newEvalError classifies msg, expr-lang's first line of the error, which ends with the
// position "(line:col)".
func newEvalError(src, msg string, err error) *EvalError {
	e := &EvalError{Expr: src, detail: msg, err: err}
	if i := strings.LastIndex(msg, " ("); i >= 0 && strings.HasSuffix(msg, ")") {
		if pos := msg[i+2 : len(msg)-1]; strings.Count(pos, ":") == 1 && strings.Trim(pos, "0123456789:") == "" {
			e.Pos = pos
		}
	}
	e.Class = classOf(msg)
	return e
}

// classes are the starts of the messages evaluation fails with (expr-lang's runtime and
// builtins, Go's parsers it calls) and the class each stands for. Classes come only from
// here: an unrecognised message is "evaluation error", since any of its words may be
// the event's (`unknown time zone NAME`).
var classes = []struct{ prefix, class string }{
	{ErrBudget.Error(), "cost budget exceeded"},
	{"memory budget exceeded", "cost budget exceeded"},
	{"invalid operation", "invalid operation"},
	{"result is ", "result is not bool"},
	{"cannot fetch", "cannot fetch"},
	{"cannot use", "invalid argument"},
	{"invalid argument", "invalid argument"},
	{"invalid number of arguments", "invalid argument"},
	{"not enough arguments", "invalid argument"},
	{"interface conversion", "invalid argument"},
	{"runtime error: index out of range", "index out of range"},
	{"index out of range", "index out of range"},
	{"time: invalid duration", "invalid duration"},
	{"time: unknown unit", "invalid duration"},
	{"time: missing unit", "invalid duration"},
	{"parsing time", "invalid date"},
	{"unknown time zone", "invalid time zone"},
	{"strconv.", "invalid number"},
	{"error parsing regexp", "invalid regular expression"},
	{"invalid character", "invalid JSON"},
	{"unexpected end of JSON", "invalid JSON"},
	{"illegal base64", "invalid base64"},
	{"cannot ", "invalid argument"},
}

// classOf returns the class msg belongs to.
func classOf(msg string) string {
	for _, c := range classes {
		if strings.HasPrefix(msg, c.prefix) {
			return c.class
		}
	}
	return "evaluation error"
}
