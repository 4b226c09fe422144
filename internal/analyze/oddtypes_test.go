package analyze

import (
	"slices"
	"testing"
)

// The keep expression agrees with the Go rule, without an evaluation error, on events
// whose fields have unexpected JSON types: an evaluation error makes the keep filter drop
// the event, so a signal the report counted (a person's write with a list of groups
// written as a string) was lost by the emitted config.
func TestSignalExprAgreesOnOddTypes(t *testing.T) {
	c := compile(t, SignalExpr)
	tests := []struct {
		line string
		want []string
	}{
		{`{"auditID":"x","verb":"update","user":{"username":5}}`, []string{SignalAnonymousAllowed}},
		{`{"auditID":"x","verb":"update","user":{"username":"alice","groups":"system:authenticated"}}`, []string{SignalPersonWrite}},
		{`{"auditID":"x","verb":"update","user":{"username":"system:serviceaccount:a:b"},"objectRef":{"resource":7}}`, []string{SignalSAWrite}},
		{`{"auditID":"x","verb":"update","user":{"username":"alice"},"objectRef":{"resource":"pods","subresource":7}}`, []string{SignalPersonWrite}},
		{`{"auditID":"x","verb":"update","user":{"username":"alice"},"objectRef":{"resource":"secrets","apiGroup":7}}`, []string{SignalPersonWrite, SignalSecretAccess}},
		{`{"auditID":"x","verb":7,"user":{"username":"alice"}}`, nil},
		{`{"auditID":"x","verb":["update"],"user":{"username":"alice"}}`, nil},
		{`{"auditID":"x","verb":"get","user":{"username":"alice"},"annotations":{"authorization.k8s.io/decision":7}}`, nil},
		{`{"auditID":"x","verb":"get","user":{"username":"alice"},"annotations":"x"}`, nil},
		{`{"auditID":"x","verb":"get","user":{"username":"alice"},"responseStatus":{"code":403.0}}`, []string{SignalDenied}},
		{`{"auditID":"x","verb":"get","user":{"username":"alice"},"responseStatus":{"code":4.03e2}}`, []string{SignalDenied}},
		{`{"auditID":"x","verb":"get","user":{"username":"alice"},"responseStatus":{"code":403.5}}`, nil},
		{`{"auditID":"x","verb":"get","user":{"username":"alice"},"responseStatus":{"code":"403"}}`, nil},
		{`{"auditID":"x","verb":"get","user":{"username":"alice"},"responseStatus":"x"}`, nil},
		{`{"auditID":"x","verb":"get","user":["alice"]}`, []string{SignalAnonymousAllowed}},
		{`{"auditID":"x","verb":"get","user":"alice"}`, []string{SignalAnonymousAllowed}},
		{`{"auditID":"x","verb":"get","user":{"username":"alice","groups":[5,"system:unauthenticated"]}}`, []string{SignalAnonymousAllowed}},
		{`{"auditID":"x","verb":"get","user":{"username":"alice"},"objectRef":"x"}`, nil},
		{`{"auditID":"x","verb":"create","user":{"username":"system:serviceaccount:a:b"},"objectRef":{"resource":["leases"]}}`, []string{SignalSAWrite}},
	}
	for _, tc := range tests {
		e := event(t, tc.line)
		a := Read(e)
		if got := a.Signals(nil); !slices.Equal(got, tc.want) {
			t.Errorf("%s: rule says %v, want %v", tc.line, got, tc.want)
		}
		got, err := c.EvalEvent(e)
		if err != nil || got != (len(tc.want) > 0) {
			t.Errorf("%s: expression says %v (error %v), want %v", tc.line, got, err, len(tc.want) > 0)
		}
	}
}
