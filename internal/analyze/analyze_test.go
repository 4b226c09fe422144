package analyze

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/auditship/auditship/filters/condition"
	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/internal/corpustest"
	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/pipeline"
)

func event(t testing.TB, line string) *pipeline.Event {
	t.Helper()
	evs, err := decode.New("auto")
	if err != nil {
		t.Fatal(err)
	}
	out, err := evs.Decode([]byte(line))
	if err != nil || len(out) != 1 {
		t.Fatalf("decode %s: %v", line, err)
	}
	return out[0]
}

func ev(user, verb, ref string, extra string) string {
	u := ""
	if user != "-" {
		u = fmt.Sprintf(`"user":{"username":%q},`, user)
	}
	r := ""
	if ref != "" {
		r = `"objectRef":` + ref + `,`
	}
	return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/x","verb":"` +
		verb + `",` + u + r + extra + `"responseStatus":{"code":200}}`
}

func TestSignals(t *testing.T) {
	const (
		secrets  = `{"resource":"secrets","namespace":"prod","name":"s","apiVersion":"v1"}`
		crdSec   = `{"resource":"secrets","apiGroup":"vault.example.com","namespace":"prod","apiVersion":"v1"}`
		lease    = `{"resource":"leases","apiGroup":"coordination.k8s.io","namespace":"kube-node-lease"}`
		events   = `{"resource":"events","namespace":"prod"}`
		pods     = `{"resource":"pods","namespace":"prod"}`
		exec     = `{"resource":"pods","subresource":"exec","namespace":"prod"}`
		pf       = `{"resource":"pods","subresource":"portforward","namespace":"prod"}`
		token    = `{"resource":"serviceaccounts","subresource":"token","namespace":"prod"}`
		review   = `{"resource":"tokenreviews","apiGroup":"authentication.k8s.io"}`
		crb      = `{"resource":"clusterrolebindings","apiGroup":"rbac.authorization.k8s.io"}`
		personU  = "alice@example.com"
		saU      = "system:serviceaccount:ci:deployer"
		nodeU    = "system:node:n1"
		kcmU     = "system:kube-controller-manager"
		forbid   = `"annotations":{"authorization.k8s.io/decision":"forbid"},`
		impers   = `"impersonatedUser":{"username":"bob"},`
		unauthGr = "system:unauthenticated"
	)
	for _, tc := range []struct {
		name, line string
		want       []string
	}{
		{"person get pods", ev(personU, "get", pods, ""), nil},
		{"person create pods", ev(personU, "create", pods, ""), []string{SignalPersonWrite}},
		{"person deletecollection", ev(personU, "deletecollection", pods, ""), []string{SignalPersonWrite}},
		{"person get secret", ev(personU, "get", secrets, ""), []string{SignalSecretAccess}},
		{"sa list secrets", ev(saU, "list", secrets, ""), []string{SignalSecretAccess}},
		{"node get secret", ev(nodeU, "get", secrets, ""), nil},
		{"controller-manager get secret", ev(kcmU, "get", secrets, ""), nil},
		{"CRD named secrets is not a Secret", ev(personU, "get", crdSec, ""), nil},
		{"sa update lease", ev(saU, "update", lease, ""), nil},
		{"sa create events", ev(saU, "create", events, ""), nil},
		{"sa patch pods", ev(saU, "patch", pods, ""), []string{SignalSAWrite}},
		{"node patch pods", ev(nodeU, "patch", pods, ""), nil},
		{"person exec", ev(personU, "create", exec, ""), []string{SignalPersonWrite, SignalInteractive}},
		{"node portforward get", ev(nodeU, "get", pf, ""), []string{SignalInteractive}},
		{"sa token request", ev(saU, "create", token, ""), []string{SignalSAWrite, SignalTokenAccess}},
		{"node token request", ev(nodeU, "create", token, ""), nil},
		{"person token review", ev(personU, "create", review, ""), []string{SignalPersonWrite, SignalTokenAccess}},
		{"sa watch rbac", ev(saU, "watch", crb, ""), []string{SignalRBACAccess}},
		{"node watch rbac", ev(nodeU, "watch", crb, ""), nil},
		{"forbid decision", ev(nodeU, "get", pods, forbid), []string{SignalDenied}},
		{"impersonation", ev(kcmU, "get", pods, impers), []string{SignalImpersonation}},
		{"anonymous allowed", ev("system:anonymous", "get", "", ""), []string{SignalAnonymousAllowed}},
		{"no user at all", ev("-", "get", "", ""), []string{SignalAnonymousAllowed}},
		{"unauthenticated group", strings.Replace(ev("weird", "get", pods, ""), `"username":"weird"`, `"username":"weird","groups":["`+unauthGr+`"]`, 1), []string{SignalAnonymousAllowed}},
		{"anonymous denied", strings.Replace(ev("system:anonymous", "get", "", ""), `"code":200`, `"code":403`, 1), []string{SignalDenied}},
		{"401", strings.Replace(ev("-", "get", pods, ""), `"code":200`, `"code":401`, 1), []string{SignalDenied}},
		// k3s's and OpenShift's administrator: a system:* user in system:masters is a person.
		{"system:admin in system:masters creates a binding", strings.Replace(ev("system:admin", "create", crb, ""), `"username":"system:admin"`, `"username":"system:admin","groups":["system:masters","system:authenticated"]`, 1), []string{SignalPersonWrite, SignalRBACAccess}},
		{"system:admin in system:masters reads a secret", strings.Replace(ev("system:admin", "get", secrets, ""), `"username":"system:admin"`, `"username":"system:admin","groups":["system:masters","system:authenticated"]`, 1), []string{SignalSecretAccess}},
		{"system:admin without system:masters", ev("system:admin", "create", crb, ""), nil},
		{"the API server's loopback client", strings.Replace(ev("system:apiserver", "create", crb, ""), `"username":"system:apiserver"`, `"username":"system:apiserver","groups":["system:masters"]`, 1), nil},
		{"a node in system:masters", strings.Replace(ev(nodeU, "get", secrets, ""), `"username":"system:node:n1"`, `"username":"system:node:n1","groups":["system:masters"]`, 1), nil},
		{"a service account in system:masters", strings.Replace(ev(saU, "get", secrets, ""), `"username":"system:serviceaccount:ci:deployer"`, `"username":"system:serviceaccount:ci:deployer","groups":["system:masters"]`, 1), []string{SignalSecretAccess}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Read(event(t, tc.line))
			got := a.Signals(nil)
			if !slices.Equal(got, tc.want) {
				t.Errorf("signals %v, want %v (attrs %+v)", got, tc.want, a)
			}
		})
	}
}

func compile(t testing.TB, expr string) *condition.Condition {
	t.Helper()
	c, err := condition.Compile(expr)
	if err != nil {
		t.Fatalf("compile %q: %v", expr, err)
	}
	return c
}

// corpusEvents returns events of every source the tests have: the generator (audit and
// kube-audit-rest, with canaries), the recorded kube-apiserver logs, the public corpus
// when present.
func corpusEvents(t *testing.T) []*pipeline.Event {
	dec, _ := decode.New("auto")
	var out []*pipeline.Event
	add := func(line []byte) {
		evs, err := dec.Decode(line)
		if err == nil {
			out = append(out, evs...)
		}
	}
	for _, f := range []gen.Format{gen.FormatAudit, gen.FormatKubeAuditRest} {
		g := gen.New(3).WithFormat(f).WithCanaries(true)
		for i := range 4000 {
			add(g.Event(i))
		}
	}
	// A real kube-apiserver's logs: the security-test recording and the cluster's own
	// traffic (nodes, control plane, service accounts, anonymous probes, people).
	for _, l := range append(corpustest.KubeAuditLines(t), corpustest.KubeControlPlaneLines(t)...) {
		add(l)
	}
	// The public corpus when present (a subtest, so its absence skips only it).
	t.Run("corpus", func(t *testing.T) { corpustest.Lines(t, func(_ string, line []byte) { add(line) }) })
	return out
}

// The keep expression the emitted config and siem-recommended.yaml use must agree with
// the Go rule that the report counts, on every event we have.
func TestSignalExprAgrees(t *testing.T) {
	c := compile(t, SignalExpr)
	evs := corpusEvents(t)
	seen := map[string]int{}
	for i, e := range evs {
		a := Read(e)
		want := len(a.Signals(nil)) > 0
		got, err := c.EvalEvent(e)
		if err != nil {
			t.Fatalf("event %d: eval: %v", i, err)
		}
		if got != want {
			b, _ := e.AppendJSON(nil)
			t.Fatalf("event %d: expression says %v, rule says %v: %.400s", i, got, want, b)
		}
		for _, s := range a.Signals(nil) {
			seen[s]++
		}
	}
	t.Logf("%d events, signals %v", len(evs), seen)
	if len(seen) < 6 {
		t.Errorf("only %d kinds of signal in the corpora, want the agreement tested on most: %v", len(seen), seen)
	}
}

// Every group's expression matches exactly the events of that group.
func TestGroupExprMatchesItsGroup(t *testing.T) {
	evs := corpusEvents(t)
	keys := map[Key][]int{}
	for i, e := range evs {
		a := Read(e)
		k := Key{a.UserClass, a.User, a.Verb, a.ResourceName(), a.NamespaceClass(), a.Level, a.Stage}
		keys[k] = append(keys[k], i)
	}
	n := 0
	for k, members := range keys {
		if n++; n > 25 {
			break
		}
		c := compile(t, GroupExpr(k))
		in := map[int]bool{}
		for _, i := range members {
			in[i] = true
		}
		for i, e := range evs {
			got, err := c.EvalEvent(e)
			if err != nil {
				t.Fatalf("%+v: %v", k, err)
			}
			if got != in[i] {
				t.Fatalf("group %+v: expression %q says %v for event %d", k, GroupExpr(k), got, i)
			}
		}
	}
}

func runLines(t *testing.T, input []byte) *Report {
	t.Helper()
	a, err := New("auto")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(bytes.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	return a.Report()
}

func TestGroupsAddUpToInput(t *testing.T) {
	g := gen.New(9)
	var buf bytes.Buffer
	for i := range 3000 {
		buf.Write(g.Event(i))
		buf.WriteByte('\n')
		switch i % 500 {
		case 1:
			buf.WriteString("not json\n")
		case 2:
			buf.WriteString("\n   \n")
		case 3:
			buf.WriteString("{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[" +
				`{"auditID":"x1","stage":"ResponseComplete","verb":"get","level":"Metadata","user":{"username":"a"}},` +
				`{"auditID":"x2","stage":"ResponseComplete","verb":"create","level":"Metadata","user":{"username":"a"}}]}` + "\n")
		case 4:
			buf.WriteString("\xff\xfe invalid utf8\n")
		}
	}
	buf.WriteString(`{"kind":"Event","auditID":"last","verb":"get","stage":"ResponseComplete"}`) // no final newline
	input := buf.Bytes()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(input)
	zw.Close()
	for name, in := range map[string][]byte{"plain": input, "gzip": gz.Bytes()} {
		t.Run(name, func(t *testing.T) {
			r := runLines(t, in)
			var sum, events int64
			for _, gr := range r.Groups {
				sum += gr.Bytes
				events += gr.Events
			}
			// Every line counts its newline, the last one too (as if it had one).
			if want := int64(len(input)) + 1; r.BytesIn != want || sum != want {
				t.Errorf("bytes_in %d, groups add up to %d, want %d", r.BytesIn, sum, want)
			}
			if events != r.EventsIn || r.EventsIn != 3000+12+1 {
				t.Errorf("events %d in groups, %d in total, want %d", events, r.EventsIn, 3000+12+1)
			}
			if r.Invalid != 12 {
				t.Errorf("invalid lines %d, want 12", r.Invalid)
			}
		})
	}
}

func TestOverLongLinesCounted(t *testing.T) {
	a, _ := New("audit")
	line := ev("alice", "get", "", "")
	in := line + "\n" + `{"auditID":"` + strings.Repeat("x", maxLine+10) + `"}` + "\n" + line + "\n"
	if err := a.Run(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	r := a.Report()
	var sum int64
	for _, g := range r.Groups {
		sum += g.Bytes
	}
	if r.OverLong != 1 || r.EventsIn != 2 || sum != int64(len(in)) || r.BytesIn != int64(len(in)) {
		t.Errorf("over-long %d events %d bytes %d/%d, want 1, 2, %d", r.OverLong, r.EventsIn, sum, r.BytesIn, len(in))
	}
}

// Memory stays flat: distinct users beyond the cap fold into "(other)" groups.
func TestGroupsAreBounded(t *testing.T) {
	var buf bytes.Buffer
	for i := range MaxGroups * 2 {
		fmt.Fprintf(&buf, "%s\n", ev(fmt.Sprintf("user-%d", i), "get", `{"resource":"pods","namespace":"p"}`, ""))
	}
	r := runLines(t, buf.Bytes())
	if len(r.Groups) > MaxGroups+8 {
		t.Errorf("%d groups, want at most %d", len(r.Groups), MaxGroups+8)
	}
	var sum int64
	for _, g := range r.Groups {
		sum += g.Events
	}
	if sum != int64(MaxGroups*2) {
		t.Errorf("groups hold %d events, want %d", sum, MaxGroups*2)
	}
}

// The bound holds over several files too (each Run merges its workers' groups into the
// analysis): 6 rotated files of distinct users stay within MaxGroups, every event counted.
func TestGroupsAreBoundedAcrossFiles(t *testing.T) {
	a, err := New("audit")
	if err != nil {
		t.Fatal(err)
	}
	const files, perFile = 6, MaxGroups
	for f := range files {
		var buf bytes.Buffer
		for i := range perFile {
			fmt.Fprintf(&buf, "%s\n", ev(fmt.Sprintf("user-%d-%d", f, i), "get", `{"resource":"pods","namespace":"p"}`, ""))
		}
		if err := a.Run(&buf); err != nil {
			t.Fatal(err)
		}
	}
	r := a.Report()
	if len(r.Groups) > MaxGroups+8 {
		t.Errorf("%d groups after %d files, want at most %d", len(r.Groups), files, MaxGroups+8)
	}
	var events, bytesIn int64
	for _, g := range r.Groups {
		events += g.Events
		bytesIn += g.Bytes
	}
	if events != files*perFile || events != r.EventsIn || bytesIn != r.BytesIn {
		t.Errorf("groups hold %d events and %d bytes, want %d and %d", events, bytesIn, files*perFile, r.BytesIn)
	}
}

func TestSuggestionsLoseNoSignal(t *testing.T) {
	g := gen.New(5)
	var buf bytes.Buffer
	for i := range 5000 {
		buf.Write(g.Event(i))
		buf.WriteByte('\n')
	}
	r := runLines(t, buf.Bytes())
	if len(r.Suggestions) == 0 {
		t.Fatal("no suggestions on a generated control-plane mix")
	}
	dec, _ := decode.New("audit")
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	for _, s := range r.Suggestions {
		if s.Kind != "drop" {
			continue
		}
		when := strings.TrimPrefix(s.Filter, "- type: drop\n  when: ")
		expr, err := unquote(when)
		if err != nil {
			t.Fatal(err)
		}
		c := compile(t, expr)
		var dropped, lost int64
		for _, l := range lines {
			evs, _ := dec.Decode(l)
			for _, e := range evs {
				if ok, _ := c.EvalEvent(e); ok {
					dropped += int64(len(l)) + 1
					a := Read(e)
					if len(a.Signals(nil)) > 0 {
						lost++
					}
				}
			}
		}
		if lost != 0 || dropped != s.BytesSaved {
			t.Errorf("%s: drops %d bytes (report says %d), loses %d signals", s.Title, dropped, s.BytesSaved, lost)
		}
	}
}

func unquote(s string) (string, error) { return strconv.Unquote(s) }
