package pipeline

import (
	"reflect"
	"sync"
	"testing"
	"time"
)

const auditLine = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a-1","stage":"ResponseComplete",` +
	`"requestURI":"/api/v1/namespaces/ns/pods?a=1\u0026b=2","verb":"get",` +
	`"user":{"username":"alice","uid":"u-1","groups":["devs",7,"system:authenticated"],"extra":{"x":["y"]}},` +
	`"objectRef":{"resource":"pods","namespace":"ns","name":"web","apiVersion":"v1","subresource":"log"},` +
	`"requestObject":{"kind":"Pod"},"requestReceivedTimestamp":"2026-01-15T10:00:00.000001Z",` +
	`"stageTimestamp":"2026-01-15T10:00:00.500000Z","annotations":{"authorization.k8s.io/decision":"allow","n":1}}`

func mustRaw(t *testing.T, line string) *Event {
	t.Helper()
	ev, err := NewRawEvent([]byte(line), SourceAudit)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestHeader(t *testing.T) {
	want := &Header{
		AuditID: "a-1", Stage: "ResponseComplete", Verb: "get", Level: "Metadata",
		RequestURI:               "/api/v1/namespaces/ns/pods?a=1&b=2",
		User:                     UserInfo{Username: "alice", UID: "u-1", Groups: []string{"devs", "system:authenticated"}},
		ObjectRef:                &ObjectRef{Resource: "pods", Namespace: "ns", Name: "web", APIVersion: "v1", Subresource: "log"},
		RequestReceivedTimestamp: "2026-01-15T10:00:00.000001Z", StageTimestamp: "2026-01-15T10:00:00.500000Z",
		Annotations: map[string]string{"authorization.k8s.io/decision": "allow"},
	}
	raw := mustRaw(t, auditLine)
	decoded := mustRaw(t, auditLine)
	decoded.Fields() // every member decoded: the header is read from the map
	for name, ev := range map[string]*Event{"raw": raw, "decoded": decoded} {
		if got := ev.Header(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Header() = %+v, want %+v", name, got, want)
		}
		if ev.Header() != ev.Header() {
			t.Errorf("%s: header decoded twice", name)
		}
	}
	// Reading the header keeps no decoded member in the event: its memory stays the line's.
	if raw.fields != nil {
		t.Errorf("Header kept decoded members: %v", raw.fields)
	}
	// A non-resource request has no objectRef; members of other types are left zero.
	h := mustRaw(t, `{"auditID":"b","verb":1,"user":"x","requestURI":"/healthz"}`).Header()
	if h.ObjectRef != nil || h.Verb != "" || h.User.Username != "" || h.RequestURI != "/healthz" || h.AuditID != "b" {
		t.Errorf("Header() = %+v", h)
	}
}

func TestTime(t *testing.T) {
	rr := time.Date(2026, 1, 15, 10, 0, 0, 1000, time.UTC)
	st := time.Date(2026, 1, 15, 10, 0, 0, 500_000_000, time.UTC)
	kar := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	const (
		rrS  = `"requestReceivedTimestamp":"2026-01-15T10:00:00.000001Z"`
		stS  = `"stageTimestamp":"2026-01-15T10:00:00.500000Z"`
		karS = `"timestamp":"2026-02-01T08:00:00Z"`
	)
	tests := []struct {
		name        string
		line        string
		time, stage time.Time // zero: ok false
	}{
		{"both", `{` + rrS + `,` + stS + `}`, rr, st},
		{"received only", `{` + rrS + `}`, rr, rr},
		{"stage only", `{` + stS + `}`, st, st},
		{"kube-audit-rest", `{` + karS + `}`, kar, kar},
		{"unparsable received falls back", `{"requestReceivedTimestamp":"yesterday",` + stS + `}`, st, st},
		{"empty received falls back", `{"requestReceivedTimestamp":"",` + karS + `}`, kar, kar},
		{"not a string", `{"requestReceivedTimestamp":1768471200,"stageTimestamp":null}`, time.Time{}, time.Time{}},
		{"none", `{"auditID":"x"}`, time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := mustRaw(t, tt.line)
			for i := 0; i < 2; i++ { // reading does not change the answer
				check(t, "Time", ev.Time, tt.time)
				check(t, "StageTime", ev.StageTime, tt.stage)
			}
		})
	}
}

func check(t *testing.T, name string, f func() (time.Time, string, bool), want time.Time) {
	t.Helper()
	got, raw, ok := f()
	if ok != !want.IsZero() || !got.Equal(want) {
		t.Fatalf("%s() = %v, %q, %v; want %v", name, got, raw, ok, want)
	}
	if ok && raw == "" {
		t.Fatalf("%s(): no raw text", name)
	}
}

// TestViewFollowsChanges: a filter's change to a header member is what the view shows
// next, however the change is made, and a clone's change does not reach the original.
func TestViewFollowsChanges(t *testing.T) {
	later := "2027-03-04T05:06:07.000008Z"
	tests := []struct {
		name   string
		change func(*Event)
		want   string // requestReceivedTimestamp's text after the change; "" when Time finds stageTimestamp
	}{
		{"SetField", func(e *Event) { e.SetField("requestReceivedTimestamp", later) }, later},
		{"DeleteField", func(e *Event) { e.DeleteField("requestReceivedTimestamp") }, ""},
		{"EditMember", func(e *Event) {
			if _, err := e.EditMember("requestReceivedTimestamp", func([]byte) ([]byte, bool) { return []byte(`"` + later + `"`), true }); err != nil {
				t.Fatal(err)
			}
		}, later},
		{"MutableFields, changed after", func(e *Event) {
			m := e.MutableFields()
			e.Header() // read between the hand-out and the change: not kept
			m["requestReceivedTimestamp"] = later
		}, later},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := mustRaw(t, auditLine)
			ev.Header()
			ev.Time()
			clone := ev.Clone()
			clone.Header() // the view as read before the change
			clone.Time()
			tt.change(clone)
			want := tt.want
			if want == "" {
				want = "2026-01-15T10:00:00.500000Z"
			}
			if _, raw, _ := clone.Time(); raw != want {
				t.Errorf("clone Time() raw %q, want %q", raw, want)
			}
			if got := clone.Header().RequestReceivedTimestamp; got != tt.want {
				t.Errorf("clone header requestReceivedTimestamp %q, want %q", got, tt.want)
			}
			if _, raw, _ := ev.Time(); raw != "2026-01-15T10:00:00.000001Z" {
				t.Errorf("original changed with its clone: %q", raw)
			}
			if err := clone.Settle(); err != nil {
				t.Fatal(err)
			}
			if _, raw, _ := clone.Time(); raw != want {
				t.Errorf("after Settle: Time() raw %q, want %q", raw, want)
			}
		})
	}
}

// TestViewConcurrent: outputs read one event's view at once (go test -race).
func TestViewConcurrent(t *testing.T) {
	ev := mustRaw(t, auditLine)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev.Time()
			ev.StageTime()
			if ev.Header().AuditID != "a-1" {
				t.Error("wrong header")
			}
		}()
	}
	wg.Wait()
}
