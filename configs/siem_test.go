package configs_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/filters/drop"
	"github.com/auditship/auditship/filters/policy"
	"github.com/auditship/auditship/filters/redact"
	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/pipeline"
)

func factories() config.Factories {
	anyConfig := func() any { return &map[string]any{} }
	f := config.Factories{
		Inputs:  map[string]config.InputFactory{"file": {Type: "file", NewConfig: anyConfig}},
		Outputs: map[string]config.OutputFactory{"file": {Type: "file", NewConfig: anyConfig}},
		Filters: map[string]config.FilterFactory{},
	}
	for _, ff := range []config.FilterFactory{drop.NewDropFactory(), drop.NewKeepFactory(), redact.NewFactory(), policy.NewFactory()} {
		f.Filters[ff.Type] = ff
	}
	return f
}

func loadChain(t testing.TB, path string) pipeline.Chain {
	t.Helper()
	f := factories()
	cfg, err := config.Load(path, f)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	var chain pipeline.Chain
	for _, c := range cfg.Filters {
		flt, err := f.Filters[c.Type].Create(c.Config, config.Settings{Name: c.Name, Logger: hclog.NewNullLogger(), Metrics: config.NopMetrics{}})
		if err != nil {
			t.Fatalf("%s: %v", c.Key, err)
		}
		chain = append(chain, pipeline.Stage{Name: c.Name, Filter: flt})
	}
	return chain
}

// observer records what the test must check: nothing failed.
type observer struct {
	pipeline.NopObserver
	dropped map[string]int
	failed  []string
}

func (o *observer) FilterDropped(f string) { o.dropped[f]++ }
func (o *observer) FilterFailed(f string, err error) {
	o.failed = append(o.failed, fmt.Sprintf("%s: %v", f, err))
}

// signal is the spec of what a SIEM must see, written independently of the config (the
// list of issue "auditship analyze": writes by people; writes by service accounts other
// than leases and events; any access to secrets, tokens and RBAC objects by people or
// service accounts; denied requests; exec/attach/portforward; impersonation; anonymous
// requests).
func signal(f map[string]any) (bool, string) {
	str := func(m any, k string) string {
		mm, _ := m.(map[string]any)
		s, _ := mm[k].(string)
		return s
	}
	u := str(f["user"], "username")
	anon := u == "" || u == "system:anonymous"
	userMap, _ := f["user"].(map[string]any)
	if groups, ok := userMap["groups"].([]any); ok {
		for _, g := range groups {
			anon = anon || g == "system:unauthenticated"
		}
	}
	person := !anon && !strings.HasPrefix(u, "system:")
	sa := !anon && strings.HasPrefix(u, "system:serviceaccount:")
	res, sub, group := str(f["objectRef"], "resource"), str(f["objectRef"], "subresource"), str(f["objectRef"], "apiGroup")
	verb, _ := f["verb"].(string)
	write := verb == "create" || verb == "update" || verb == "patch" || verb == "delete" || verb == "deletecollection"
	code := 0.0
	if rs, ok := f["responseStatus"].(map[string]any); ok {
		switch c := rs["code"].(type) {
		case float64:
			code = c
		case interface{ Float64() (float64, error) }:
			code, _ = c.Float64()
		}
	}
	switch {
	case code == 401 || code == 403 || str(f["annotations"], "authorization.k8s.io/decision") == "forbid":
		return true, "denied"
	case res == "pods" && (sub == "exec" || sub == "attach" || sub == "portforward"):
		return true, "exec/attach/portforward"
	case f["impersonatedUser"] != nil:
		return true, "impersonation"
	case anon:
		return true, "anonymous"
	case res == "secrets" && group == "" && (person || sa):
		return true, "secret access"
	case (res == "serviceaccounts" && sub == "token" || res == "tokenreviews") && (person || sa):
		return true, "token access"
	case group == "rbac.authorization.k8s.io" && (person || sa):
		return true, "rbac access"
	case write && person:
		return true, "write by a person"
	case write && sa && res != "leases" && res != "events":
		return true, "write by a service account"
	}
	return false, ""
}

func TestSIEMRecommended(t *testing.T) {
	chain := loadChain(t, "siem-recommended.yaml")
	for _, tc := range []struct {
		format       gen.Format
		decoder      string
		events       int
		minReduction float64
	}{
		{gen.FormatAudit, "audit", 10000, 90},
		// kube-audit-rest only sees writes, most of them security signals: no reduction
		// target, but every signal must survive and no canary may leak.
		{gen.FormatKubeAuditRest, "kube-audit-rest", 2000, 0},
	} {
		t.Run(tc.decoder, func(t *testing.T) {
			dec, err := decode.New(tc.decoder)
			if err != nil {
				t.Fatal(err)
			}
			g := gen.New(42).WithFormat(tc.format).WithCanaries(true)
			obs := &observer{dropped: map[string]int{}}
			var in, out, kept, signals int
			reasons := map[string]int{}
			for i := range tc.events {
				line := g.Event(i)
				in += len(line) + 1
				evs, err := dec.Decode(line)
				if err != nil || len(evs) != 1 {
					t.Fatalf("decode event %d: %v", i, err)
				}
				ev := evs[0]
				isSignal, why := signal(ev.Fields())
				if isSignal {
					signals++
					reasons[why]++
				}
				if !chain.Keep(ev, obs) {
					if isSignal {
						t.Errorf("event %d (%s, %s) was dropped: %s", i, g.Category(i), why, line[:min(300, len(line))])
					}
					continue
				}
				kept++
				b, err := ev.AppendJSON(nil)
				if err != nil {
					t.Fatal(err)
				}
				out += len(b) + 1
				if gen.ContainsCanary(b) {
					t.Errorf("event %d (%s) leaks a secret: %s", i, g.Category(i), b)
				}
			}
			if len(obs.failed) > 0 {
				t.Fatalf("filters failed %d times, e.g. %s", len(obs.failed), obs.failed[0])
			}
			if signals == 0 || len(reasons) < 4 {
				t.Fatalf("the mix has too few security signals to test: %v", reasons)
			}
			reduction := 100 * (1 - float64(out)/float64(in))
			t.Logf("events in %d, kept %d (%d signals: %v); bytes in %d, out %d: reduction %.1f%%; dropped per filter %v",
				tc.events, kept, signals, reasons, in, out, reduction, obs.dropped)
			if reduction < tc.minReduction {
				t.Errorf("byte reduction %.1f%%, want at least %.0f%%", reduction, tc.minReduction)
			}
		})
	}
}
