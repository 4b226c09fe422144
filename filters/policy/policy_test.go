package policy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/auditship/auditship/internal/corpustest"
	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/pipeline"
)

func mustParse(t testing.TB, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, doc)
	}
	return p
}

// rules wraps rule YAML in a Policy.
func rules(body string) string {
	return "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n" + body
}

func TestMatching(t *testing.T) {
	pod := Attributes{User: "alice", Groups: []string{"devs", "system:authenticated"}, Verb: "get",
		ResourceRequest: true, Namespace: "default", APIGroup: "", Resource: "pods", Name: "web"}
	with := func(f func(a *Attributes)) Attributes {
		a := pod
		f(&a)
		return a
	}
	nonRes := func(path string) Attributes {
		return Attributes{User: "bob", Groups: []string{"system:authenticated"}, Verb: "get", Path: path}
	}
	tests := []struct {
		name  string
		rule  string
		attrs Attributes
		want  bool
	}{
		{"empty rule matches all", `- level: Metadata`, pod, true},
		{"empty rule matches non-resource", `- level: Metadata`, nonRes("/healthz"), true},
		{"user exact", `- {level: Metadata, users: [alice]}`, pod, true},
		{"user other", `- {level: Metadata, users: [alic]}`, pod, false},
		{"user matches username not impersonated", `- {level: Metadata, users: [bob]}`, pod, false},
		{"group any", `- {level: Metadata, userGroups: [ops, devs]}`, pod, true},
		{"group none", `- {level: Metadata, userGroups: [ops]}`, pod, false},
		{"verb", `- {level: Metadata, verbs: [get, list]}`, pod, true},
		{"verb other", `- {level: Metadata, verbs: [watch]}`, pod, false},
		{"namespace", `- {level: Metadata, namespaces: [default]}`, pod, true},
		{"namespace other", `- {level: Metadata, namespaces: [kube-system]}`, pod, false},
		{"empty namespace is cluster-scoped", `- {level: Metadata, namespaces: [""]}`, with(func(a *Attributes) { a.Namespace = ""; a.Resource = "nodes" }), true},
		{"empty namespace not namespaced", `- {level: Metadata, namespaces: [""]}`, pod, false},
		{"namespaces never match non-resource", `- {level: Metadata, namespaces: [""]}`, nonRes("/healthz"), false},
		{"resource core", `- {level: Metadata, resources: [{group: "", resources: [pods]}]}`, pod, true},
		{"group must be exact", `- {level: Metadata, resources: [{group: apps, resources: [pods]}]}`, pod, false},
		{"group without resources matches all of it", `- {level: Metadata, resources: [{group: ""}]}`, pod, true},
		{"group without resources other group", `- {level: Metadata, resources: [{group: "apps"}]}`, pod, false},
		{"resource does not match subresource", `- {level: Metadata, resources: [{resources: [pods]}]}`, with(func(a *Attributes) { a.Subresource = "exec" }), false},
		{"resource/subresource", `- {level: Metadata, resources: [{resources: [pods/exec]}]}`, with(func(a *Attributes) { a.Subresource = "exec" }), true},
		{"resource/subresource not bare", `- {level: Metadata, resources: [{resources: [pods/exec]}]}`, pod, false},
		{"star matches all", `- {level: Metadata, resources: [{resources: ["*"]}]}`, with(func(a *Attributes) { a.Subresource = "log" }), true},
		{"star/sub", `- {level: Metadata, resources: [{resources: ["*/status"]}]}`, with(func(a *Attributes) { a.Resource = "nodes"; a.Subresource = "status" }), true},
		{"star/sub other sub", `- {level: Metadata, resources: [{resources: ["*/status"]}]}`, with(func(a *Attributes) { a.Subresource = "log" }), false},
		{"star/sub not bare", `- {level: Metadata, resources: [{resources: ["*/status"]}]}`, pod, false},
		{"res/* matches the bare resource", `- {level: Metadata, resources: [{resources: ["pods/*"]}]}`, pod, true},
		{"res/* matches subresources", `- {level: Metadata, resources: [{resources: ["pods/*"]}]}`, with(func(a *Attributes) { a.Subresource = "exec" }), true},
		{"res/* other resource", `- {level: Metadata, resources: [{resources: ["pods/*"]}]}`, with(func(a *Attributes) { a.Resource = "podtemplates" }), false},
		{"resourceNames", `- {level: Metadata, resources: [{resources: [pods], resourceNames: [web]}]}`, pod, true},
		{"resourceNames other", `- {level: Metadata, resources: [{resources: [pods], resourceNames: [db]}]}`, pod, false},
		{"resourceNames on list has no name", `- {level: Metadata, resources: [{resources: [pods], resourceNames: [web]}]}`, with(func(a *Attributes) { a.Name = ""; a.Verb = "list" }), false},
		{"second group resource matches", `- {level: Metadata, resources: [{group: apps, resources: [deployments]}, {group: "", resources: [pods]}]}`, pod, true},
		{"resources never match non-resource", `- {level: Metadata, resources: [{group: ""}]}`, nonRes("/api"), false},
		{"url exact", `- {level: Metadata, nonResourceURLs: [/healthz]}`, nonRes("/healthz"), true},
		{"url exact is exact", `- {level: Metadata, nonResourceURLs: [/healthz]}`, nonRes("/healthz/etcd"), false},
		{"url prefix", `- {level: Metadata, nonResourceURLs: ["/healthz*"]}`, nonRes("/healthz/etcd"), true},
		{"url prefix matches itself", `- {level: Metadata, nonResourceURLs: ["/api*"]}`, nonRes("/api"), true},
		{"url star", `- {level: Metadata, nonResourceURLs: ["*"]}`, nonRes("/metrics"), true},
		{"url never matches resource", `- {level: Metadata, nonResourceURLs: ["*"]}`, pod, false},
		{"all conditions must hold", `- {level: Metadata, users: [alice], verbs: [delete]}`, pod, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, rules(tt.rule))
			got := p.Evaluate(&tt.attrs).Level != LevelNone
			if got != tt.want {
				t.Fatalf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestQueryStringIgnored(t *testing.T) {
	var a Attributes
	attributesOf(map[string]any{"verb": "get", "requestURI": "/healthz?verbose=1", "user": map[string]any{"username": "x"}}, &a)
	p := mustParse(t, rules(`- {level: Metadata, nonResourceURLs: [/healthz]}`))
	if a.Path != "/healthz" || p.Evaluate(&a).Level != LevelMetadata {
		t.Fatalf("path %q did not match /healthz", a.Path)
	}
}

func TestFirstMatchWinsAndDefaults(t *testing.T) {
	p := mustParse(t, `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
omitManagedFields: true
rules:
- level: None
  users: [system:kube-proxy]
- level: RequestResponse
  resources: [{group: ""}]
  omitStages: [ResponseStarted]
  omitManagedFields: false
- level: Metadata
  resources: [{group: apps}]
`)
	a := Attributes{User: "system:kube-proxy", ResourceRequest: true, Resource: "pods"}
	if d := p.Evaluate(&a); d.Level != LevelNone {
		t.Fatalf("first rule should win, got %v", d.Level)
	}
	a.User = "alice"
	d := p.Evaluate(&a)
	if d.Level != LevelRequestResponse || d.OmitManagedFields {
		t.Fatalf("got %+v", d)
	}
	if !has(d.OmitStages, "RequestReceived") || !has(d.OmitStages, "ResponseStarted") {
		t.Fatalf("omitStages must be the union, got %v", d.OmitStages)
	}
	a.APIGroup = "apps"
	if d := p.Evaluate(&a); d.Level != LevelMetadata || !d.OmitManagedFields || len(d.OmitStages) != 1 {
		t.Fatalf("rule without omitManagedFields takes the policy's; got %+v", d)
	}
	a.APIGroup = "batch"
	if d := p.Evaluate(&a); d.Level != LevelNone {
		t.Fatalf("no match must be None, got %v", d.Level)
	}
}

const eventRR = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"x","stage":"ResponseComplete",
"verb":"update","requestURI":"/api/v1/namespaces/default/configmaps/c","user":{"username":"alice","groups":["devs"]},
"impersonatedUser":{"username":"system:admin"},
"objectRef":{"resource":"configmaps","namespace":"default","name":"c","apiVersion":"v1"},
"requestObject":{"kind":"ConfigMap","metadata":{"name":"c","managedFields":[{"manager":"kubectl"}]},"data":{"a":"b"}},
"responseObject":{"kind":"ConfigMap","metadata":{"name":"c","managedFields":[{"manager":"kubectl"}]},"data":{"a":"b"}}}`

func event(t testing.TB, line string, edit func(m map[string]any)) *pipeline.Event {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
		b, _ := json.Marshal(m)
		line = string(b)
	}
	return pipeline.NewEvent([]byte(line), m, pipeline.SourceAudit)
}

func TestApply(t *testing.T) {
	tests := []struct {
		name      string
		policy    string
		edit      func(m map[string]any)
		keep      bool
		level     string
		bodies    []string // bodies left
		managed   bool     // managedFields left
		wantDirty bool
	}{
		{name: "no match drops", policy: `- {level: Metadata, users: [bob]}`},
		{name: "None drops", policy: `- {level: None}`},
		{name: "same level untouched", policy: `- {level: RequestResponse}`, keep: true, level: "RequestResponse",
			bodies: []string{"requestObject", "responseObject"}, managed: true},
		{name: "Metadata removes both bodies", policy: `- {level: Metadata}`, keep: true, level: "Metadata", wantDirty: true},
		{name: "Request removes the response", policy: `- {level: Request}`, keep: true, level: "Request",
			bodies: []string{"requestObject"}, managed: true, wantDirty: true},
		{name: "level never rises", policy: `- {level: RequestResponse}`, keep: true, level: "Metadata",
			edit: func(m map[string]any) {
				m["level"] = "Metadata"
				delete(m, "requestObject")
				delete(m, "responseObject")
			}},
		{name: "Request on a Request event untouched", policy: `- {level: RequestResponse}`, keep: true, level: "Request",
			edit: func(m map[string]any) { m["level"] = "Request"; delete(m, "responseObject") }, bodies: []string{"requestObject"}, managed: true},
		{name: "omitted stage drops", policy: `- {level: Metadata, omitStages: [ResponseComplete]}`},
		{name: "policy omitStages drop", policy: `- {level: Metadata}`, edit: func(m map[string]any) { m["stage"] = "RequestReceived" }},
		{name: "other stage kept", policy: `- {level: Metadata, omitStages: [RequestReceived]}`, keep: true, level: "Metadata", wantDirty: true},
		{name: "omitManagedFields strips", policy: `- {level: RequestResponse, omitManagedFields: true}`, keep: true,
			level: "RequestResponse", bodies: []string{"requestObject", "responseObject"}, wantDirty: true},
		{name: "matches user not impersonatedUser", policy: `- {level: Metadata, users: [system:admin]}`},
		{name: "kube-audit-rest oldObject goes below RequestResponse", policy: `- {level: Request}`, keep: true, level: "Request",
			edit: func(m map[string]any) {
				m["oldObject"] = map[string]any{"kind": "ConfigMap"}
				delete(m, "responseObject")
			},
			bodies: []string{"requestObject"}, managed: true, wantDirty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := rules(tt.policy)
			if strings.Contains(tt.name, "policy omitStages") {
				doc = "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n" + tt.policy
			}
			f := New(mustParse(t, doc))
			ev := event(t, eventRR, tt.edit)
			keep, err := f.Apply(ev)
			if err != nil {
				t.Fatal(err)
			}
			if keep != tt.keep {
				t.Fatalf("keep = %v, want %v", keep, tt.keep)
			}
			if !keep {
				return
			}
			got := ev.Fields()
			if got["level"] != tt.level {
				t.Errorf("level = %v, want %s", got["level"], tt.level)
			}
			for _, k := range []string{"requestObject", "responseObject", "oldObject"} {
				_, present := got[k]
				if present != has(tt.bodies, k) {
					t.Errorf("%s present = %v, want %v", k, present, !present)
				}
			}
			out, _ := ev.AppendJSON(nil)
			if strings.Contains(string(out), "managedFields") != tt.managed {
				t.Errorf("managedFields present = %v, want %v", !tt.managed, tt.managed)
			}
			if ev.Dirty() != tt.wantDirty {
				t.Errorf("dirty = %v, want %v", ev.Dirty(), tt.wantDirty)
			}
			if !strings.Contains(string(out), `"auditID":"x"`) {
				t.Errorf("lost metadata: %s", out)
			}
		})
	}
}

func TestManagedFieldsInLists(t *testing.T) {
	f := New(mustParse(t, "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: true\nrules:\n- level: RequestResponse\n"))
	ev := event(t, `{"level":"RequestResponse","stage":"ResponseComplete","verb":"list","objectRef":{"resource":"pods"},
"responseObject":{"kind":"PodList","items":[{"metadata":{"name":"a","managedFields":[{}]}},{"metadata":{"name":"b","managedFields":[{}]}}]}}`, nil)
	if keep, err := f.Apply(ev); !keep || err != nil {
		t.Fatal(keep, err)
	}
	out, _ := ev.AppendJSON(nil)
	if strings.Contains(string(out), "managedFields") || !strings.Contains(string(out), `"name":"b"`) {
		t.Fatalf("out = %s", out)
	}
}

// TestManagedFieldsInTables: kubectl get asks for Tables; each row embeds its object
// (includeObject=Object) or the object's metadata (the default), managedFields included,
// and kube-apiserver strips them there too. A "rows" member of another kind is data.
func TestManagedFieldsInTables(t *testing.T) {
	f := New(mustParse(t, "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: true\nrules:\n- level: RequestResponse\n"))
	for _, tt := range []struct {
		name, body string
		stripped   bool
	}{
		{"full objects", `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"7"},"columnDefinitions":[],` +
			`"rows":[{"cells":["a"],"object":{"kind":"Deployment","metadata":{"name":"a","managedFields":[{"manager":"kubectl"}]}}},` +
			`{"cells":["b"],"object":{"kind":"Deployment","metadata":{"name":"b","managedFields":[{"manager":"hpa"}]}}}]}`, true},
		{"metadata only", `{"kind":"Table","apiVersion":"meta.k8s.io/v1","rows":[{"cells":["a"],` +
			`"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"a","managedFields":[{}]}}}]}`, true},
		{"not a Table", `{"kind":"Report","apiVersion":"example.com/v1","metadata":{"name":"r"},` +
			`"rows":[{"object":{"metadata":{"name":"x","managedFields":[{}]}}}]}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := event(t, `{"level":"RequestResponse","stage":"ResponseComplete","verb":"list","objectRef":{"resource":"deployments"},"responseObject":`+tt.body+`}`, nil)
			if keep, err := f.Apply(ev); !keep || err != nil {
				t.Fatal(keep, err)
			}
			out, _ := ev.AppendJSON(nil)
			if strings.Contains(string(out), "managedFields") == tt.stripped {
				t.Fatalf("managedFields stripped: want %v; out = %s", tt.stripped, out)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"webhook config", "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\n", []string{`kind: "ValidatingWebhookConfiguration" is not an audit Policy`}},
		{"wrong version", "apiVersion: audit.k8s.io/v2\nkind: Policy\nrules: [{level: None}]\n", []string{"apiVersion:"}},
		{"no rules", "apiVersion: audit.k8s.io/v1\nkind: Policy\n", []string{"rules: a policy needs at least one rule"}},
		{"bad level", rules("- level: None\n- level: Everything\n"), []string{`rules[1].level: unknown level "Everything"`}},
		{"missing level", rules("- users: [x]\n"), []string{"rules[0].level: is required"}},
		{"bad stage", rules("- level: None\n  omitStages: [Done]\n"), []string{`rules[0].omitStages[0]: unknown stage "Done"`}},
		{"both kinds", rules("- level: None\n  nonResourceURLs: [/x]\n  namespaces: [a]\n"), []string{"rules[0]: rules cannot apply to both"}},
		{"url slash", rules("- level: None\n  nonResourceURLs: [healthz]\n"), []string{"rules[0].nonResourceURLs[0]", "must begin with a '/'"}},
		{"url star inside", rules("- level: None\n  nonResourceURLs: [/a*/b]\n"), []string{"must be the final character"}},
		{"group with version", rules("- level: None\n  resources: [{group: apps/v1}]\n"), []string{"rules[0].resources[0].group"}},
		{"names without resources", rules("- level: None\n  resources: [{group: '', resourceNames: [a]}]\n"), []string{"rules[0].resources[0].resourceNames"}},
		{"several problems", rules("- level: X\n- level: Y\n"), []string{"rules[0].level", "rules[1].level"}},
		{"two documents", rules("- level: None\n") + "---\n" + rules("- level: None\n"), []string{"several YAML documents"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want %q", err, w)
				}
			}
		})
	}
}

func TestUnknownFieldsWarn(t *testing.T) {
	p := mustParse(t, rules("- level: None\n  user: [x]\n"))
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], `unknown field "user"`) {
		t.Fatalf("warnings = %q", p.Warnings)
	}
	if p := mustParse(t, rules("- level: None\n")); len(p.Warnings) != 0 {
		t.Fatalf("warnings = %q", p.Warnings)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(good, []byte(rules("- level: Metadata\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(rules("- level: None\n- level: None\n- level: None\n- level: Loud\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{PolicyFile: good}, ""},
		{Config{Policy: rules("- level: Metadata\n")}, ""},
		{Config{}, "policy_file: a policy file is required"},
		{Config{PolicyFile: good, Policy: "x"}, "exclusive"},
		{Config{PolicyFile: filepath.Join(dir, "missing.yaml")}, "policy_file: read policy:"},
		{Config{PolicyFile: bad}, "policy_file: " + bad + `: rules[3].level: unknown level "Loud"`},
		{Config{Policy: "kind: Policy\n"}, "policy: apiVersion:"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", tt.cfg, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want %q", err, tt.want)
		}
	}
	fac := NewFactory()
	c := fac.NewConfig().(*Config)
	c.PolicyFile = good
	f, err := fac.Create(c, configSettings())
	if err != nil || f == nil {
		t.Fatalf("create: %v", err)
	}
}

func TestCorpusPolicies(t *testing.T) {
	dir := corpustest.Dir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "policies", "*.yaml"))
	files = append(files, filepath.Join(dir, "audit-events", "audit2rbac", "demo-policy.yaml"))
	if len(files) < 4 {
		t.Fatalf("expected the corpus policies, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			p, err := LoadFile(f)
			if strings.Contains(f, "webhook") {
				if err == nil || !strings.Contains(err.Error(), "is not an audit Policy") {
					t.Fatalf("a webhook config must be rejected clearly, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.rules) == 0 {
				t.Fatal("no rules loaded")
			}
		})
	}
}

// TestCorpusWebsitePolicy runs the kubernetes.io example policy over its own documented
// intent.
func TestCorpusWebsitePolicy(t *testing.T) {
	p, err := LoadFile(filepath.Join(corpustest.Dir(t), "policies", "k8s-website-audit-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		a    Attributes
		want Level
	}{
		{Attributes{User: "u", Verb: "get", ResourceRequest: true, Resource: "pods", Namespace: "a"}, LevelRequestResponse},
		{Attributes{User: "u", Verb: "get", ResourceRequest: true, Resource: "pods", Subresource: "log", Namespace: "a"}, LevelMetadata},
		{Attributes{User: "u", Verb: "get", ResourceRequest: true, Resource: "configmaps", Name: "controller-leader", Namespace: "a"}, LevelNone},
		{Attributes{User: "system:kube-proxy", Verb: "watch", ResourceRequest: true, Resource: "endpoints"}, LevelNone},
		{Attributes{User: "u", Groups: []string{"system:authenticated"}, Verb: "get", Path: "/apis"}, LevelNone},
		{Attributes{User: "u", Groups: []string{"system:authenticated"}, Verb: "get", Path: "/healthz"}, LevelMetadata},
		{Attributes{User: "u", Verb: "update", ResourceRequest: true, Resource: "configmaps", Namespace: "kube-system"}, LevelRequest},
		{Attributes{User: "u", Verb: "get", ResourceRequest: true, Resource: "secrets", Namespace: "a"}, LevelMetadata},
		{Attributes{User: "u", Verb: "get", ResourceRequest: true, Resource: "services", Namespace: "a"}, LevelRequest},
		{Attributes{User: "u", Verb: "get", ResourceRequest: true, APIGroup: "apps", Resource: "deployments", Namespace: "a"}, LevelMetadata},
	}
	for _, tt := range tests {
		if got := p.Evaluate(&tt.a).Level; got != tt.want {
			t.Errorf("%+v: got %v, want %v", tt.a, got, tt.want)
		}
	}
}

// TestCorpusEvents applies the falco policy to every real audit event in the corpus: no
// error, no level rises, and each level's bodies are gone.
func TestCorpusEvents(t *testing.T) {
	dir := corpustest.Dir(t)
	p, err := LoadFile(filepath.Join(dir, "policies", "falco-plugins-k8saudit-audit-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f := New(p)
	files, _ := filepath.Glob(filepath.Join(dir, "audit-events", "*", "*"))
	kept, total := 0, 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) != nil {
				continue
			}
			total++
			before, _ := eventLevel(m)
			ev := pipeline.NewEvent([]byte(line), m, pipeline.SourceAudit)
			keep, err := f.Apply(ev)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if !keep {
				continue
			}
			kept++
			after, _ := eventLevel(ev.Fields())
			if after > before {
				t.Errorf("%s: level rose from %v to %v", file, before, after)
			}
			for _, k := range bodiesAbove[after] {
				if _, ok := ev.Fields()[k]; ok {
					t.Errorf("%s: %s kept at level %v", file, k, after)
				}
			}
		}
	}
	if total < 100 || kept == 0 || kept == total {
		t.Fatalf("kept %d of %d corpus events", kept, total)
	}
	t.Logf("kept %d of %d corpus events", kept, total)
}

// TestAttributesFromEvent: the attributes read from an event's bytes (member paths, no
// maps) are those read from the event decoded whole, for generated and corpus events.
func TestAttributesFromEvent(t *testing.T) {
	lines := [][]byte{
		[]byte(`{"verb":"get","objectRef":null,"user":{"groups":"x"},"requestURI":"/x?y"}`),
		[]byte(`{"verb":"get","objectRef":{},"user":{"username":7,"groups":["a",1,"b"]}}`),
		[]byte(`{"verb":"get","objectRef":"pods","user":"alice"}`),
		[]byte(`{"verb":"get","objectRef":{"resource":"pods","name":null,"namespace":{"x":1},"apiGroup":"a\u0062"}}`),
	}
	g := gen.New(11)
	for i := 0; i < 2000; i++ {
		lines = append(lines, g.Event(i))
	}
	if files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "audit-events", "*", "*")); len(files) > 0 {
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, bytes.Split(data, []byte("\n"))...)
		}
	}
	checked := 0
	for _, line := range lines {
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			continue
		}
		ev, err := pipeline.NewRawEvent(line, pipeline.SourceAudit)
		if err != nil {
			continue // declined lines are decoded whole: nothing to compare
		}
		var want, got Attributes
		attributesOf(m, &want)
		attributesFrom(ev, &got)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("from the bytes %+v, from the map %+v, for %.300s", got, want, line)
		}
		checked++
	}
	if checked < 2000 {
		t.Fatalf("checked %d events", checked)
	}
}

// stripReference is omitManagedFields over a decoded body: what the byte-level cut must
// agree with.
func stripReference(body any) {
	m, ok := body.(map[string]any)
	if !ok {
		return
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "managedFields")
	}
	if items, ok := m["items"].([]any); ok {
		for _, it := range items {
			stripReference(it)
		}
	}
	if rows, ok := m["rows"].([]any); ok && m["kind"] == "Table" {
		for _, r := range rows {
			if row, ok := r.(map[string]any); ok {
				stripReference(row["object"])
			}
		}
	}
}

// TestOmitManagedFieldsAgrees: for generated events (many bodies carry managedFields, some
// are lists), the policy's byte-level cut writes what decoding, deleting and encoding
// would, on events read from bytes and on events decoded whole.
func TestOmitManagedFieldsAgrees(t *testing.T) {
	f := New(mustParse(t, "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: true\nrules:\n- level: RequestResponse\n"))
	g := gen.New(21)
	cut := 0
	for i := 0; i < 1500; i++ {
		line := g.Event(i)
		var want map[string]any
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		written, _ := eventLevel(want)
		if written < LevelRequest {
			continue
		}
		for _, k := range []string{"requestObject", "responseObject", "oldObject"} {
			stripReference(want[k])
		}
		raw, err := pipeline.NewRawEvent(line, pipeline.SourceAudit)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal(line, &m)
		for _, ev := range []*pipeline.Event{raw, pipeline.NewEvent(nil, m, pipeline.SourceAudit)} {
			if keep, err := f.Apply(ev); !keep || err != nil {
				t.Fatalf("event %d: keep %v, err %v", i, keep, err)
			}
			out, err := ev.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("event %d: invalid JSON written: %v", i, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("event %d: wrote %.300s", i, out)
			}
		}
		if bytes.Contains(line, []byte(`"managedFields"`)) {
			cut++
		}
	}
	if cut < 100 {
		t.Fatalf("only %d events had managedFields to cut", cut)
	}
}

// TestOmitManagedFieldsEscapedKeys: a body whose keys spell metadata or managedFields
// with escapes (encoding/json decodes them as those keys) loses managedFields too, on an
// event read from bytes.
func TestOmitManagedFieldsEscapedKeys(t *testing.T) {
	f := New(mustParse(t, "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: true\nrules:\n- level: RequestResponse\n"))
	for _, body := range []string{
		`{"metadata":{"name":"a","m\u0061nagedFields":[{"manager":"x"}]}}`,
		`{"metad\u0061ta":{"name":"a","managedFields":[{"manager":"x"}]}}`,
		`{"kind":"PodList","\u0069tems":[{"metadata":{"name":"a","\u006danagedFields":[]}}]}`,
		`{"metadata":{"name":"a","managedFields":[{"fieldsV1":{"f:spec":{"k:{\"name\":\"app\"}":{}}}}]}}`,
	} {
		line := `{"kind":"Event","level":"RequestResponse","auditID":"a","stage":"ResponseComplete","verb":"update","requestObject":` + body + `,"responseObject":` + body + `}`
		ev, err := pipeline.NewRawEvent([]byte(line), pipeline.SourceAudit)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if keep, err := f.Apply(ev); !keep || err != nil {
			t.Fatalf("keep %v, err %v", keep, err)
		}
		out, err := ev.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"requestObject", "responseObject"} {
			b, _ := json.Marshal(got[k])
			if bytes.Contains(b, []byte("managedFields")) || !bytes.Contains(b, []byte(`"name":"a"`)) {
				t.Errorf("%s: %s written as %s", body, k, b)
			}
		}
	}
}
