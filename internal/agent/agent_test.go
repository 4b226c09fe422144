package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

// TestComponentTypesAreUnique: no two entries of the default list share a type, which
// would leave one of them unreachable.
func TestComponentTypesAreUnique(t *testing.T) {
	ins, flts, outs := components()
	f := Factories()
	for kind, n := range map[string][2]int{
		"input": {len(ins), len(f.Inputs)}, "filter": {len(flts), len(f.Filters)}, "output": {len(outs), len(f.Outputs)},
	} {
		if n[0] != n[1] {
			t.Errorf("%d %s factories listed, %d distinct types", n[0], kind, n[1])
		}
	}
	for typ, fac := range f.Outputs {
		if typ == "" || fac.Create == nil || fac.NewConfig == nil {
			t.Errorf("output factory %q is incomplete", typ)
		}
	}
}

// TestBuildReportsEveryFilterByKey: filters that cannot be created, global or an
// output's, are all reported, each against its key in the file; nothing is assembled.
func TestBuildReportsEveryFilterByKey(t *testing.T) {
	f := Factories()
	f.Filters["failing"] = config.FilterFactory{
		Type:      "failing",
		NewConfig: func() any { return &map[string]any{} },
		Create: func(any, config.Settings) (pipeline.Filter, error) {
			return nil, errors.New("first\nsecond")
		},
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	body := "data_dir: " + dir + "\nhttp: {listen: \"\"}\ninputs:\n  a: {type: file, paths: [" + dir + "/a.log]}\n" +
		"filters:\n  - {type: drop, when: 'verb == \"get\"'}\n  - {type: failing}\n" +
		"outputs:\n  o:\n    type: file\n    path: " + dir + "/out\n    filters:\n      - {type: failing}\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p, f)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Build(cfg, f, Env{})
	var probs config.Problems
	if a != nil || !errors.As(err, &probs) {
		t.Fatalf("Build = %v, %v; want config.Problems", a, err)
	}
	want := []string{
		p + ": filters[1]: first", p + ": filters[1]: second",
		p + ": outputs.o.filters[0]: first", p + ": outputs.o.filters[0]: second",
	}
	if strings.Join(probs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(probs, "\n"), strings.Join(want, "\n"))
	}
}

// TestCheckDeadLetterPaths: a dead_letter_path the agent could never write (a directory,
// a path under a regular file) is a problem `validate` and a reload report against the
// output, for every output type; before, it validated, and the first event the
// destination refused for good wedged the output: retried, never acknowledged.
func TestCheckDeadLetterPaths(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"file":          "type: file\n    path: " + dir + "/out.ndjson",
		"stdout":        "type: stdout",
		"elasticsearch": "type: elasticsearch\n    addresses: [\"https://es.example:9200\"]",
		"http":          "type: http\n    url: https://collector.example/ingest",
		"object_store":  "type: object_store\n    url: file://" + dir + "/archive/",
		"splunk_hec":    "type: splunk_hec\n    endpoint: https://splunk.example:8088\n    token: t",
		"kafka":         "type: kafka\n    brokers: [kafka.example:9092]\n    topic: audit",
	}
	for typ, out := range outputs {
		for _, tc := range []struct{ name, path, want string }{
			{"fine", filepath.Join(dir, "dlq", typ+".ndjson"), ""},
			{"a directory", dir, "is not a regular file"},
			{"under a regular file", filepath.Join(regular, "x.ndjson"), "not a directory"},
		} {
			t.Run(typ+"/"+tc.name, func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "c.yaml")
				body := "data_dir: " + dir + "\nhttp: {listen: \"\"}\ninputs:\n  a: {type: file, paths: [" + dir + "/a.log]}\n" +
					"outputs:\n  o:\n    " + out + "\n    dead_letter_path: " + tc.path + "\n"
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				cfg, err := Load(p, Factories())
				if err != nil {
					t.Fatal(err)
				}
				a, err := Build(cfg, Factories(), Env{})
				if err != nil {
					t.Fatal(err)
				}
				err = a.Check()
				switch {
				case tc.want == "" && err != nil:
					t.Errorf("Check = %v, want nil", err)
				case tc.want != "" && (err == nil || !strings.Contains(err.Error(), p+": outputs.o: dead_letter_path: ") || !strings.Contains(err.Error(), tc.want)):
					t.Errorf("Check = %v, want a dead_letter_path problem containing %q", err, tc.want)
				}
			})
		}
	}
}
