package redact

import (
	"strings"
	"testing"
)

// TestPresetKeeps: what the preset must not redact. A custom resource named secrets in
// another API group is not a Secret; a strategic merge patch keeps its $patch directive;
// a failed TokenRequest answers a Status whose message stays; an empty token stays
// empty; the allow-listed annotations keep their values (and the operator can extend the
// list); field names in managedFields stay.
func TestPresetKeeps(t *testing.T) {
	ev := func(uri, ref, body string) string {
		return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"k1","stage":"ResponseComplete","verb":"create","requestURI":"` + uri + `","objectRef":` + ref + `,"responseObject":` + body + `}`
	}
	const secretURI, secretRef = "/api/v1/namespaces/p/secrets/s", `{"resource":"secrets","namespace":"p","name":"s","apiVersion":"v1"}`
	const tokenURI, tokenRef = "/api/v1/namespaces/p/serviceaccounts/sa/token", `{"resource":"serviceaccounts","subresource":"token","namespace":"p","name":"sa","apiVersion":"v1"}`
	tests := []struct {
		name  string
		cfg   Config
		line  string
		keep  []string
		clean bool // nothing redacted at all
	}{
		{"custom resource named secrets", Config{},
			ev("/apis/vault.example.com/v1/namespaces/p/secrets/s", `{"resource":"secrets","apiGroup":"vault.example.com","namespace":"p","name":"s","apiVersion":"v1"}`,
				`{"apiVersion":"vault.example.com/v1","kind":"Secret","metadata":{"name":"s","annotations":{"team":"payments"}},"spec":{"path":"kv/app","refreshInterval":"1h"}}`),
			[]string{`"path":"kv/app"`, `"team":"payments"`}, true},
		{"strategic merge $patch", Config{},
			ev(secretURI, secretRef, `{"$patch":"replace","metadata":{"labels":{"a":"b","$patch":"delete"}},"data":{"k":"eA==","$patch":"replace"}}`),
			[]string{`"responseObject":{"$patch":"replace"`, `"$patch":"delete"`, `"data":{"$patch":"replace","k":"[REDACTED]"}`}, false},
		{"failed TokenRequest status message", Config{},
			ev(tokenURI, tokenRef, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"serviceaccounts \"sa\" not found","reason":"NotFound","details":{"name":"sa","kind":"serviceaccounts"},"code":404}`),
			[]string{`"message":"serviceaccounts \"sa\" not found"`, `"reason":"NotFound"`, `"code":404`}, true},
		{"empty token", Config{},
			ev(tokenURI, tokenRef, `{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","spec":{"audiences":["api"]},"status":{"token":"","expirationTimestamp":"2026-01-01T00:00:00Z"}}`),
			[]string{`"token":""`, `"audiences":["api"]`}, true},
		{"default allow-listed annotation and names", Config{},
			ev(secretURI, secretRef, `{"kind":"Secret","apiVersion":"v1","type":"kubernetes.io/service-account-token","metadata":{"name":"s","annotations":{"kubernetes.io/service-account.name":"sa"},"managedFields":[{"manager":"kcm","operation":"Update","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:token":{}}}}]},"data":{}}`),
			[]string{`"kubernetes.io/service-account.name":"sa"`, `"f:token":{}`, `"type":"kubernetes.io/service-account-token"`}, true},
		{"operator allow-listed annotation", Config{AllowAnnotations: []string{"example.com/*"}},
			ev(secretURI, secretRef, `{"kind":"Secret","metadata":{"name":"s","annotations":{"example.com/owner":"team-a","other.io/x":"y"}}}`),
			[]string{`"example.com/owner":"team-a"`, `"other.io/x":"[REDACTED]"`}, false},
		{"operator allow-listed event annotation", Config{AllowEventAnnotations: []string{"policy.example.com/result"}},
			strings.Replace(ev(secretURI, secretRef, `null`), `"auditID"`, `"annotations":{"policy.example.com/result":"ok","other.example.com/r":"v","authorization.k8s.io/decision":"allow"},"auditID"`, 1),
			[]string{`"policy.example.com/result":"ok"`, `"other.example.com/r":"[REDACTED]"`, `"authorization.k8s.io/decision":"allow"`}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Preset = PresetKubernetesSecrets
			f := mustFilter(t, &cfg)
			ev := auditEvent(t, tc.line)
			if keep, err := f.Apply(ev); err != nil || !keep {
				t.Fatalf("keep=%v err=%v", keep, err)
			}
			out := encode(t, ev)
			for _, k := range tc.keep {
				if !strings.Contains(out, k) {
					t.Errorf("lost %s:\n%s", k, out)
				}
			}
			if tc.clean && (ev.Redacted != 0 || ev.RemovedBodies != 0) {
				t.Errorf("redacted %d fields, removed %d bodies of a body with nothing to redact:\n%s", ev.Redacted, ev.RemovedBodies, out)
			}
		})
	}
}

// TestCountsBodiesApart: a body removed whole counts in RemovedBodies, not in Redacted.
func TestCountsBodiesApart(t *testing.T) {
	f := mustFilter(t, &Config{Preset: PresetKubernetesSecrets})
	ev := auditEvent(t, `{"kind":"Event","auditID":"b","verb":"create","requestURI":"/api/v1/namespaces/p/serviceaccounts/sa/token","objectRef":{"resource":"serviceaccounts","subresource":"token","namespace":"p","name":"sa"},"responseObject":{"kind":"Foo","a":"x","b":"y"}}`)
	if keep, err := f.Apply(ev); err != nil || !keep {
		t.Fatalf("keep=%v err=%v", keep, err)
	}
	if ev.RemovedBodies != 1 || ev.Redacted != 0 {
		t.Fatalf("RemovedBodies=%d Redacted=%d, want 1 and 0", ev.RemovedBodies, ev.Redacted)
	}
	if out := encode(t, ev); strings.Contains(out, "responseObject") {
		t.Fatalf("body kept: %s", out)
	}
}
