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
