package drop

import (
	"strings"
	"testing"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/pipeline"
)

func event(verb, user string) *pipeline.Event {
	raw := []byte(`{"verb":"` + verb + `","user":{"username":"` + user + `"}}`)
	return pipeline.NewEvent(raw, map[string]any{
		"verb": verb,
		"user": map[string]any{"username": user},
	}, pipeline.SourceAudit)
}

func TestDropKeep(t *testing.T) {
	const when = `verb in ["get", "list", "watch"] && user.username startsWith "system:"`
	tests := []struct {
		factory    config.FilterFactory
		verb, user string
		want       bool
	}{
		{NewDropFactory(), "get", "system:kube-scheduler", false},
		{NewDropFactory(), "get", "alice", true},
		{NewDropFactory(), "create", "system:kube-scheduler", true},
		{NewKeepFactory(), "get", "system:kube-scheduler", true},
		{NewKeepFactory(), "get", "alice", false},
	}
	for _, tt := range tests {
		t.Run(tt.factory.Type+"/"+tt.verb+"/"+tt.user, func(t *testing.T) {
			cfg := tt.factory.NewConfig().(*Config)
			cfg.When = when
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			f, err := tt.factory.Create(cfg, config.Settings{})
			if err != nil {
				t.Fatal(err)
			}
			ev := event(tt.verb, tt.user)
			got, err := f.Apply(ev)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("keep = %v, want %v", got, tt.want)
			}
			if ev.Dirty() {
				t.Fatal("a drop/keep filter must not mark the event changed")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		when, want string
	}{
		{"", "when: an expression is required"},
		{"verb ==", "when: compile"},
		{`"verb"`, "when: compile"}, // a string, not a bool
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			err := (&Config{When: tt.when}).Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestEvalErrorFailsClosed(t *testing.T) {
	// Ordering a number the event lacks is an error (the dry run over sample events lets it
	// through: most events carry responseStatus).
	f, err := New(`responseStatus.code >= 400`, false)
	if err != nil {
		t.Fatal(err)
	}
	if keep, err := f.Apply(event("get", "alice")); err == nil || keep {
		t.Fatalf("keep=%v err=%v, want an error and no keep", keep, err)
	}
}

// TestCreateUsesValidatedCondition: the expression config.Load's Validate compiled is
// the one the filter evaluates, not compiled a second time; without Validate, or when
// `when` changed since, Create compiles what `when` says.
func TestCreateUsesValidatedCondition(t *testing.T) {
	tests := []struct {
		name      string
		validate  bool
		changedTo string
		reused    bool
	}{
		{name: "validated", validate: true, reused: true},
		{name: "not validated"},
		{name: "changed after validate", validate: true, changedTo: `verb == "list"`},
	}
	for _, tt := range tests {
		for _, fac := range []config.FilterFactory{NewDropFactory(), NewKeepFactory()} {
			t.Run(tt.name+"/"+fac.Type, func(t *testing.T) {
				cfg := fac.NewConfig().(*Config)
				cfg.When = `verb == "get"`
				if tt.validate {
					if err := cfg.Validate(); err != nil {
						t.Fatal(err)
					}
				}
				validated := cfg.cond
				if tt.changedTo != "" {
					cfg.When = tt.changedTo
				}
				f, err := fac.Create(cfg, config.Settings{})
				if err != nil {
					t.Fatal(err)
				}
				cond := f.(*Filter).cond
				if got := cond == validated; got != tt.reused {
					t.Fatalf("Create reused Validate's compiled condition: %v, want %v", got, tt.reused)
				}
				if cond.String() != cfg.When {
					t.Fatalf("filter evaluates %q, config says %q", cond.String(), cfg.When)
				}
			})
		}
	}
}
