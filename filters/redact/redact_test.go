package redact

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditship/auditship/pipeline"
)

func auditEvent(t testing.TB, line string) *pipeline.Event {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("bad fixture: %v\n%s", err, line)
	}
	return pipeline.NewEvent([]byte(line), m, pipeline.SourceAudit)
}

func encode(t testing.TB, ev *pipeline.Event) string {
	t.Helper()
	b, err := ev.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// presetFilter returns the kubernetes-secrets preset with action (hash with a test key).
func presetFilter(t testing.TB, action string) *Filter {
	t.Helper()
	cfg := &Config{Preset: PresetKubernetesSecrets, Action: action}
	if action == "hash" {
		t.Setenv("AUDITSHIP_TEST_HASH_KEY", "preset-test-key-0123456789")
		cfg.HashKeyEnv = "AUDITSHIP_TEST_HASH_KEY"
	}
	return mustFilter(t, cfg)
}

func mustFilter(t testing.TB, c *Config) *Filter {
	t.Helper()
	f, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		path    string
		want    []segment
		wantErr string
	}{
		{path: "a.b", want: []segment{{kind: segKey, key: "a"}, {kind: segKey, key: "b"}}},
		{path: "a[*].b", want: []segment{{kind: segKey, key: "a"}, {kind: segAnyIndex}, {kind: segKey, key: "b"}}},
		{path: "a.*.b", want: []segment{{kind: segKey, key: "a"}, {kind: segAnyKey}, {kind: segKey, key: "b"}}},
		{path: `m.annotations["kubectl.kubernetes.io/last-applied-configuration"]`,
			want: []segment{{kind: segKey, key: "m"}, {kind: segKey, key: "annotations"}, {kind: segKey, key: "kubectl.kubernetes.io/last-applied-configuration"}}},
		{path: `a['x]y'].b`, want: []segment{{kind: segKey, key: "a"}, {kind: segKey, key: "x]y"}, {kind: segKey, key: "b"}}},
		{path: "a[2]", want: []segment{{kind: segKey, key: "a"}, {kind: segIndex, index: 2}}},
		{path: "", wantErr: "empty"},
		{path: "a..b", wantErr: "empty segment"},
		{path: "a.", wantErr: "ends with"},
		{path: "a[x]", wantErr: "in brackets"},
		{path: `a["x]`, wantErr: "unterminated"},
		{path: "a[*", wantErr: "missing ']'"},
		{path: "a[*]b", wantErr: "expected '.'"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := parsePath(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("segment %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

const podEvent = `{"kind":"Event","level":"RequestResponse","stage":"ResponseComplete","verb":"create","auditID":"a1",
"user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"default","name":"web"},
"requestObject":{"kind":"Pod","metadata":{"name":"web","annotations":{"example.com/token":"tok-123","keep":"me"}},
"spec":{"containers":[{"name":"a","env":[{"name":"PASSWORD","value":"hunter2"},{"name":"MODE","value":"prod"}]},
{"name":"b","env":[{"name":"API_KEY","value":"k-456"}]}]}}}`

func TestPaths(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		cfg       Config
		wantN     int
		gone      []string // must not appear in the output
		kept      []string // must still appear
		wantDirty bool
	}{
		{"mask env values", Config{Paths: []string{"requestObject.spec.containers[*].env[*].value"}},
			3, []string{"hunter2", "k-456", `"prod"`}, []string{`"PASSWORD"`, Placeholder, `"web"`}, true},
		{"remove env", Config{Paths: []string{"requestObject.spec.containers[*].env"}, Action: "remove"},
			2, []string{"hunter2", "PASSWORD", `"env"`}, []string{`"containers"`}, true},
		{"remove array elements", Config{Paths: []string{"requestObject.spec.containers[*].env[*]"}, Action: "remove"},
			3, []string{"hunter2", "PASSWORD"}, []string{`"env":[]`}, true},
		{"bracketed annotation", Config{Paths: []string{`requestObject.metadata.annotations["example.com/token"]`}},
			1, []string{"tok-123"}, []string{`"keep":"me"`}, true},
		{"every key", Config{Paths: []string{`requestObject.metadata.annotations.*`}, Action: "remove"},
			2, []string{"tok-123", `"keep"`}, []string{`"annotations":{}`}, true},
		{"index", Config{Paths: []string{`requestObject.spec.containers[1].env[0].value`}},
			1, []string{"k-456"}, []string{"hunter2"}, true},
		{"hash", Config{Paths: []string{`requestObject.metadata.annotations["example.com/token"]`}, Action: "hash", HashKeyFile: keyFile},
			1, []string{"tok-123"}, []string{hashPrefix}, true},
		{"when false", Config{Paths: []string{"requestObject"}, Action: "remove", When: `verb == "delete"`},
			0, nil, []string{"hunter2"}, false},
		{"nothing matches", Config{Paths: []string{"requestObject.spec.volumes[*].secret"}},
			0, nil, []string{"hunter2"}, false},
		{"remove whole body", Config{Paths: []string{"requestObject", "responseObject"}, Action: "remove", When: `verb == "create"`},
			1, []string{"requestObject", "hunter2"}, []string{`"auditID":"a1"`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustFilter(t, &tt.cfg)
			ev := auditEvent(t, podEvent)
			keep, err := f.Apply(ev)
			if err != nil || !keep {
				t.Fatalf("keep=%v err=%v", keep, err)
			}
			if ev.Redacted != tt.wantN {
				t.Errorf("Redacted = %d, want %d", ev.Redacted, tt.wantN)
			}
			if ev.Dirty() != tt.wantDirty {
				t.Errorf("Dirty = %v, want %v", ev.Dirty(), tt.wantDirty)
			}
			out := encode(t, ev)
			for _, s := range tt.gone {
				if strings.Contains(out, s) {
					t.Errorf("output still has %q: %s", s, out)
				}
			}
			for _, s := range tt.kept {
				if !strings.Contains(out, s) {
					t.Errorf("output lost %q: %s", s, out)
				}
			}
		})
	}
}

func TestHashIsKeyedAndStable(t *testing.T) {
	a := action{kind: actHash, key: []byte("0123456789abcdef")}
	b := action{kind: actHash, key: []byte("fedcba9876543210")}
	h1, _ := a.hash("hunter2")
	h2, _ := a.hash("hunter2")
	h3, _ := b.hash("hunter2")
	if h1 != h2 || h1 == h3 || !strings.HasPrefix(h1, hashPrefix) || strings.Contains(h1, "hunter2") {
		t.Fatalf("h1=%s h2=%s h3=%s", h1, h2, h3)
	}
}

func TestValidate(t *testing.T) {
	t.Setenv("AUDITSHIP_TEST_SHORT_KEY", "short")
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"nothing", Config{}, []string{"preset or paths"}},
		{"both", Config{Preset: PresetKubernetesSecrets, Paths: []string{"a"}}, []string{"exclusive"}},
		{"unknown preset", Config{Preset: "everything"}, []string{`preset: unknown preset "everything"`}},
		{"bad path", Config{Paths: []string{"a", "b..c"}}, []string{"paths[1]:"}},
		{"bad action", Config{Paths: []string{"a"}, Action: "shred"}, []string{`action: unknown action "shred"`}},
		{"hash without key", Config{Paths: []string{"a"}, Action: "hash"}, []string{"hash_key_file or hash_key_env"}},
		{"key without hash", Config{Paths: []string{"a"}, HashKeyEnv: "X"}, []string{"only used with action: hash"}},
		{"missing key file", Config{Paths: []string{"a"}, Action: "hash", HashKeyFile: "/nonexistent/key"}, []string{"hash_key_file:"}},
		{"unset env", Config{Paths: []string{"a"}, Action: "hash", HashKeyEnv: "AUDITSHIP_TEST_UNSET_VAR"}, []string{"AUDITSHIP_TEST_UNSET_VAR is not set"}},
		{"short key", Config{Paths: []string{"a"}, Action: "hash", HashKeyEnv: "AUDITSHIP_TEST_SHORT_KEY"}, []string{"at least 16 bytes"}},
		{"bad when", Config{Preset: PresetKubernetesSecrets, When: "verb =="}, []string{"when: compile"}},
		{"managed-fields action", Config{Preset: PresetManagedFields, Action: "mask"}, []string{"always removes"}},
		{"several at once", Config{Paths: []string{"a."}, Action: "x", When: "("}, []string{"paths[0]", "action:", "when:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestManagedFieldsPreset(t *testing.T) {
	f := mustFilter(t, &Config{Preset: PresetManagedFields})
	tests := []struct {
		name  string
		line  string
		wantN int
	}{
		{"object", `{"verb":"update","requestObject":{"metadata":{"name":"a","managedFields":[{"manager":"kubectl"}]}},"responseObject":{"metadata":{"name":"a","managedFields":[{"manager":"kubectl"}]}}}`, 2},
		{"list items", `{"verb":"list","responseObject":{"kind":"PodList","items":[{"metadata":{"name":"a","managedFields":[]}},{"metadata":{"name":"b","managedFields":[{}]}}]}}`, 2},
		{"oldObject", `{"verb":"update","oldObject":{"metadata":{"name":"a","managedFields":[{}]}}}`, 1},
		{"none", `{"verb":"get","responseObject":{"metadata":{"name":"a"}}}`, 0},
		// A key spelled with escapes is the key encoding/json decodes.
		{"escaped key", `{"verb":"update","requestObject":{"metadata":{"name":"a","m\u0061nagedFields":[{}]}}}`, 1},
		{"escaped keys in fieldsV1", `{"verb":"update","requestObject":{"metadata":{"name":"a","managedFields":[{"fieldsV1":{"k:{\"name\":\"app\"}":{}}}]}}}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := auditEvent(t, tt.line)
			if raw, err := pipeline.NewRawEvent([]byte(tt.line), pipeline.SourceAudit); err == nil {
				ev = raw // as the decoder reads it
			}
			if _, err := f.Apply(ev); err != nil {
				t.Fatal(err)
			}
			out := encode(t, ev)
			if strings.Contains(out, "managedFields") || ev.Redacted != tt.wantN {
				t.Fatalf("Redacted=%d (want %d) out=%s", ev.Redacted, tt.wantN, out)
			}
			if tt.wantN == 0 && (ev.Dirty() || out != tt.line) {
				t.Fatal("an event without managedFields must stay byte-identical")
			}
			if !strings.Contains(out, `"name":"a"`) {
				t.Fatalf("lost the object: %s", out)
			}
		})
	}
}
