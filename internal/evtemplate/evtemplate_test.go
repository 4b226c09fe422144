package evtemplate

import (
	"testing"

	"github.com/auditship/auditship/pipeline"
)

func TestRender(t *testing.T) {
	ev, err := pipeline.NewRawEvent([]byte(`{"verb":"get","objectRef":{"namespace":"Team-A","n":3}}`), pipeline.SourceAudit)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tmpl, want string
		ok         bool
	}{
		{"", "", true},
		{"audit", "audit", true},
		{"audit-%{objectRef.namespace}", "audit-Team-A", true},
		{"%{verb}.%{objectRef.namespace}", "get.Team-A", true},
		{"audit-%{objectRef.name}", "", false},
		{"audit-%{objectRef.n}", "", false},
	} {
		p, err := Parse(tc.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := p.Render(ev, nil); got != tc.want || ok != tc.ok {
			t.Errorf("%q: %q, %v; want %q, %v", tc.tmpl, got, ok, tc.want, tc.ok)
		}
	}
	for _, bad := range []string{"a-%{b", "a-%{}"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
