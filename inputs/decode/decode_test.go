package decode

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/corpustest"
)

func TestDecodeLines(t *testing.T) {
	ev := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","verb":"get"}`
	list := `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"auditID":"x1","verb":"get"},{"auditID":"x2","verb":"list"}]}`
	kar := `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u1","resource":{"group":"apps","version":"v1","resource":"deployments"},"name":"web","namespace":"prod","operation":"UPDATE","userInfo":{"username":"alice","groups":["dev"]},"object":{"kind":"Deployment"},"oldObject":{"kind":"Deployment"},"dryRun":true},"requestReceivedTimestamp":"2026-11-20T10:00:00.000000Z"}`
	deep := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
	tests := []struct {
		name    string
		format  string
		line    string
		wantIDs []string
		wantErr error // nil: any error when wantIDs is empty
	}{
		{"event", "audit", ev, []string{"a1"}, nil},
		{"event with BOM", "audit", "\xef\xbb\xbf" + ev, []string{"a1"}, nil},
		{"event without kind", "audit", `{"auditID":"b","verb":"get"}`, []string{"b"}, nil},
		{"event list split", "audit", list, []string{"x1", "x2"}, nil},
		{"kube-audit-rest", "kube-audit-rest", kar, []string{"u1"}, nil},
		{"auto audit", "auto", ev, []string{"a1"}, nil},
		{"auto kube-audit-rest", "auto", kar, []string{"u1"}, nil},
		{"not json", "audit", `{"auditID": nope`, nil, nil},
		{"array", "audit", `[1,2]`, nil, ErrNotObject},
		{"string", "audit", `"x"`, nil, ErrNotObject},
		{"empty", "audit", ``, nil, ErrNotObject},
		{"invalid utf8", "audit", "{\"auditID\":\"\xff\xfe\"}", nil, ErrInvalidUTF8},
		{"NUL bytes", "audit", "{\"auditID\":\"a\x00\"}", nil, nil},
		{"not an event", "audit", `{"kind": 0}`, nil, ErrNotEvent},
		{"other kind", "audit", `{"kind":"Pod","auditID":"a"}`, nil, ErrNotEvent},
		{"deep nesting", "audit", deep, nil, ErrNotObject},
		{"deep object", "audit", `{"a":` + deep + `}`, nil, nil},
		{"review without request", "kube-audit-rest", `{"kind":"AdmissionReview"}`, nil, ErrNotReview},
		{"audit event to kar decoder", "kube-audit-rest", ev, nil, ErrNotReview},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(tc.format)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := d.Decode([]byte(tc.line))
			if len(tc.wantIDs) == 0 {
				if err == nil {
					t.Fatalf("want error, got %d events", len(evs))
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "nope") {
					t.Fatalf("error leaks line content: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != len(tc.wantIDs) {
				t.Fatalf("got %d events, want %d", len(evs), len(tc.wantIDs))
			}
			for i, e := range evs {
				if got := e.Fields()["auditID"]; got != tc.wantIDs[i] {
					t.Errorf("event %d auditID %v, want %s", i, got, tc.wantIDs[i])
				}
			}
		})
	}
}

func TestAuditEventKeepsRawBytes(t *testing.T) {
	line := []byte(`{"auditID":"a","verb":"get",  "stage":"ResponseComplete"}`)
	evs, err := auditDecoder{}.Decode(line)
	if err != nil {
		t.Fatal(err)
	}
	out, err := evs[0].AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, line) {
		t.Fatalf("clean event re-encoded: %s", out)
	}
	list := []byte(`{"kind":"EventList","items":[{"auditID":"x1", "verb":"get"}]}`)
	evs, err = auditDecoder{}.Decode(list)
	if err != nil {
		t.Fatal(err)
	}
	out, _ = evs[0].AppendJSON(nil)
	if string(out) != `{"auditID":"x1", "verb":"get"}` {
		t.Fatalf("list item bytes: %s", out)
	}
}

func TestKubeAuditRestMapping(t *testing.T) {
	line := `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u1","resource":{"group":"","version":"v1","resource":"pods"},"subResource":"exec","name":"web","namespace":"prod","operation":"CONNECT","userInfo":{"username":"alice","groups":["dev"]},"object":{"kind":"PodExecOptions"},"oldObject":null,"dryRun":false},"requestReceivedTimestamp":"2026-11-20T10:00:00.000000Z"}`
	evs, err := karDecoder{}.Decode([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	f := evs[0].Fields()
	want := map[string]any{
		"auditID": "u1", "verb": "create", "level": "Request", "stage": "ResponseComplete",
		"requestURI": "/api/v1/namespaces/prod/pods/web/exec", "requestReceivedTimestamp": "2026-11-20T10:00:00.000000Z",
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %v, want %v", k, f[k], v)
		}
	}
	ref := f["objectRef"].(map[string]any)
	if ref["resource"] != "pods" || ref["subresource"] != "exec" || ref["namespace"] != "prod" || ref["name"] != "web" {
		t.Errorf("objectRef = %v", ref)
	}
	if _, ok := ref["apiGroup"]; ok {
		t.Errorf("core group must be omitted: %v", ref)
	}
	if f["user"].(map[string]any)["username"] != "alice" {
		t.Errorf("user = %v", f["user"])
	}
	if _, ok := f["oldObject"]; ok {
		t.Error("null oldObject must be omitted")
	}
	if evs[0].Raw() != nil || !evs[0].Dirty() {
		t.Error("a synthesised event has no raw bytes to reuse")
	}
	out, err := evs[0].AppendJSON(nil)
	if err != nil || !bytes.Contains(out, []byte(`"auditID":"u1"`)) {
		t.Fatalf("encode: %s %v", out, err)
	}
}

// TestCorpus decodes the public samples: every line of the event logs is an event, the
// kube-audit-rest logs map to events, and the known-bad fixtures are rejected.
func TestCorpus(t *testing.T) {
	root := corpustest.Dir(t)
	cases := []struct {
		glob    string
		format  string
		minGood int
		wantBad int // -1: don't care
	}{
		{"audit-events/audit2rbac/demo.v1beta1.full.log", "audit", 757, 0},
		{"audit-events/audit2rbac/demo.v1.log", "audit", 37, 0},
		{"audit-events/falco-k8s_audit/*.json", "audit", 50, 1},
		{"audit-events/falco-k8s_audit-secrets-requestresponse/*.json", "audit", 4, 0},
		{"audit-events/elastic-integrations/test-audit.log", "audit", 3, 2},
		{"admissionreview/kube-audit-rest/*.log", "kube-audit-rest", 100, 0},
		{"admissionreview/kube-audit-rest/*.log", "auto", 100, 0},
	}
	for _, tc := range cases {
		t.Run(tc.glob+"/"+tc.format, func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(root, tc.glob))
			if len(files) == 0 {
				t.Skip("no files")
			}
			d, _ := New(tc.format)
			good, bad := 0, 0
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				sc := bufio.NewScanner(bytes.NewReader(data))
				sc.Buffer(nil, 1<<24)
				for sc.Scan() {
					if len(bytes.TrimSpace(sc.Bytes())) == 0 {
						continue
					}
					evs, err := d.Decode(sc.Bytes())
					if err != nil {
						bad++
						continue
					}
					for _, e := range evs {
						if e.Fields()["auditID"] == "" || e.Fields()["verb"] == nil {
							t.Errorf("%s: event without auditID/verb", f)
						}
					}
					good += len(evs)
				}
			}
			if good < tc.minGood {
				t.Errorf("decoded %d events, want >= %d", good, tc.minGood)
			}
			if tc.wantBad >= 0 && bad != tc.wantBad {
				t.Errorf("rejected %d lines, want %d", bad, tc.wantBad)
			}
		})
	}
}

// TestKubeAuditRestReadTime: a kube-audit-rest line without a requestReceivedTimestamp
// (older kube-audit-rest writes none), or with one that is empty, null or not a string,
// is dated with the time it was read and marked auditship.io/time-source: read; a line
// with a timestamp keeps it, unmarked (issue 13, kind 7).
func TestKubeAuditRestReadTime(t *testing.T) {
	read := time.Date(2026, 11, 30, 4, 5, 6, 789012345, time.FixedZone("CET", 3600))
	const readText = "2026-11-30T03:05:06.789012Z"
	review := `"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u1","resource":{"group":"","version":"v1","resource":"configmaps"},"name":"cm","namespace":"ns","operation":"UPDATE","userInfo":{"username":"alice"}}`
	tests := []struct {
		name, line, want string
		marked           bool
		original         string // kept in AnnotationOriginalTimestamp when it was unusable
	}{
		{"none", `{` + review + `}`, readText, true, ""},
		{"empty", `{` + review + `,"requestReceivedTimestamp":""}`, readText, true, ""},
		{"null", `{` + review + `,"requestReceivedTimestamp":null}`, readText, true, ""},
		{"not a string", `{` + review + `,"requestReceivedTimestamp":1764471906}`, readText, true, "1764471906"},
		{"a big number", `{` + review + `,"requestReceivedTimestamp":17644719060000000001}`, readText, true, "17644719060000000001"},
		{"an object", `{` + review + `,"requestReceivedTimestamp":{"t":1}}`, readText, true, `{"t":1}`},
		// Strings that are no RFC 3339 time: shipped as they were, an index would reject
		// the event (a date field) and it was dead-lettered.
		{"garbage", `{` + review + `,"requestReceivedTimestamp":"yesterday"}`, readText, true, "yesterday"},
		{"impossible date", `{` + review + `,"requestReceivedTimestamp":"2026-13-45T10:00:00Z"}`, readText, true, "2026-13-45T10:00:00Z"},
		{"padded", `{` + review + `,"requestReceivedTimestamp":" 2026-11-20T10:00:00Z "}`, readText, true, " 2026-11-20T10:00:00Z "},
		{"no zone", `{` + review + `,"requestReceivedTimestamp":"2026-11-20T10:00:00"}`, readText, true, "2026-11-20T10:00:00"},
		{"its own", `{` + review + `,"requestReceivedTimestamp":"2026-11-20T10:00:00.123456Z"}`, "2026-11-20T10:00:00.123456Z", false, ""},
		{"its own, with an offset", `{` + review + `,"requestReceivedTimestamp":"2026-11-20T12:00:00+02:00"}`, "2026-11-20T12:00:00+02:00", false, ""},
	}
	decoders := map[string]Decoder{
		"kube-audit-rest": karDecoder{now: func() time.Time { return read }},
		"auto":            autoDecoder{now: func() time.Time { return read }},
	}
	for _, tc := range tests {
		for name, dec := range decoders {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				evs, err := dec.Decode([]byte(tc.line))
				if err != nil {
					t.Fatal(err)
				}
				ev := evs[0]
				for _, k := range []string{"requestReceivedTimestamp", "stageTimestamp"} {
					if got, _ := ev.Field(k).(string); got != tc.want {
						t.Errorf("%s = %q, want %q", k, got, tc.want)
					}
				}
				src, _ := ev.Path("annotations", AnnotationTimeSource)
				if marked := src == TimeSourceRead; marked != tc.marked {
					t.Errorf("annotation %s = %v, want marked %v", AnnotationTimeSource, src, tc.marked)
				}
				if orig, _ := ev.Path("annotations", AnnotationOriginalTimestamp); orig != nil && orig != tc.original || orig == nil && tc.original != "" {
					t.Errorf("annotation %s = %v, want %q", AnnotationOriginalTimestamp, orig, tc.original)
				}
				out, err := ev.AppendJSON(nil)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(out, []byte(`"requestReceivedTimestamp":"`+tc.want+`"`)) {
					t.Errorf("written without its time: %s", out)
				}
			})
		}
	}
	// The decoders New returns date lines with the clock.
	dec, _ := New("kube-audit-rest")
	before := time.Now().UTC().Truncate(time.Microsecond)
	evs, err := dec.Decode([]byte(`{` + review + `}`))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := time.Parse(time.RFC3339Nano, evs[0].Field("requestReceivedTimestamp").(string))
	if err != nil || ts.Before(before) || ts.Location() != time.UTC {
		t.Fatalf("read time %v (%v), read after %v", ts, err, before)
	}
}

// TestKubeAuditRestRequestURI: the requestURI built for an AdmissionReview is the path
// kube-apiserver routed the request by: a CREATE's name is in its body, not its URL
// (issue 13 kind 6), unless it creates a subresource of a named object; a Namespace is
// not inside itself.
func TestKubeAuditRestRequestURI(t *testing.T) {
	tests := []struct {
		op, group, resource, sub, ns, name, want string
	}{
		{"CREATE", "", "configmaps", "", "kube-system", "leader-lock", "/api/v1/namespaces/kube-system/configmaps"},
		{"UPDATE", "", "configmaps", "", "kube-system", "leader-lock", "/api/v1/namespaces/kube-system/configmaps/leader-lock"},
		{"DELETE", "apps", "deployments", "", "ns", "d", "/apis/apps/v1/namespaces/ns/deployments/d"},
		{"CREATE", "", "pods", "eviction", "ns", "web", "/api/v1/namespaces/ns/pods/web/eviction"},
		{"CREATE", "", "serviceaccounts", "token", "ns", "sa", "/api/v1/namespaces/ns/serviceaccounts/sa/token"},
		{"CONNECT", "", "pods", "exec", "ns", "web", "/api/v1/namespaces/ns/pods/web/exec"},
		{"CREATE", "rbac.authorization.k8s.io", "clusterrolebindings", "", "", "admin", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"},
		{"CREATE", "", "namespaces", "", "prod", "prod", "/api/v1/namespaces"},
		{"UPDATE", "", "namespaces", "status", "prod", "prod", "/api/v1/namespaces/prod/status"},
		{"UPDATE", "", "nodes", "status", "", "n1", "/api/v1/nodes/n1/status"},
	}
	for _, tc := range tests {
		t.Run(tc.op+" "+tc.want, func(t *testing.T) {
			line := fmt.Sprintf(`{"request":{"uid":"u1","resource":{"group":%q,"version":"v1","resource":%q},"subResource":%q,"namespace":%q,"name":%q,"operation":%q,"userInfo":{"username":"alice"}},"requestReceivedTimestamp":"2026-11-20T10:00:00.000000Z"}`,
				tc.group, tc.resource, tc.sub, tc.ns, tc.name, tc.op)
			evs, err := karDecoder{}.Decode([]byte(line))
			if err != nil {
				t.Fatal(err)
			}
			if got := evs[0].Field("requestURI"); got != tc.want {
				t.Fatalf("requestURI %v, want %s", got, tc.want)
			}
			// objectRef still names the object: it is what the event is about.
			if got, _ := evs[0].Path("objectRef", "name"); tc.name != "" && got != tc.name {
				t.Fatalf("objectRef.name %v, want %s", got, tc.name)
			}
		})
	}
}
