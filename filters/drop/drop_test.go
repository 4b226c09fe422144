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
