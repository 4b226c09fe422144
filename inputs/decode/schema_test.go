package decode

import (
	"strings"
	"testing"
)

// TestEventMembersOnly: an event is written with the audit Event type's members only;
// the others (any spelling the type does not have) are removed and counted, and the
// members kept keep their bytes.
func TestEventMembersOnly(t *testing.T) {
	const canary = "CANARY-SCHEMA"
	tests := []struct {
		name        string
		line        string
		want        string
		wantRemoved int
	}{
		{"v1 clean", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","verb":"get",  "annotations":{"x":"y"}}`,
			`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","verb":"get",  "annotations":{"x":"y"}}`, 0},
		{"request and responseBody", `{"auditID":"a","verb":"create","request":{"object":{"data":{"k":"` + canary + `"}}},"responseBody":"` + canary + `"}`,
			`{"auditID":"a","verb":"create"}`, 2},
		{"differently cased members", `{"auditID":"a","RequestObject":{"data":{"k":"` + canary + `"}},"ObjectRef":{"resource":"secrets"},"verb":"get"}`,
			`{"auditID":"a","verb":"get"}`, 2},
		{"oldObject is kube-audit-rest's only", `{"auditID":"a","oldObject":{"data":{"k":"` + canary + `"}}}`,
			`{"auditID":"a"}`, 1},
		{"v1 has no metadata", `{"apiVersion":"audit.k8s.io/v1","auditID":"a","metadata":{"x":"` + canary + `"},"timestamp":"` + canary + `"}`,
			`{"apiVersion":"audit.k8s.io/v1","auditID":"a"}`, 2},
		{"v1beta1 has metadata and timestamp", `{"apiVersion":"audit.k8s.io/v1beta1","auditID":"a","metadata":{"creationTimestamp":null},"timestamp":"2026-01-01T00:00:00Z"}`,
			`{"apiVersion":"audit.k8s.io/v1beta1","auditID":"a","metadata":{"creationTimestamp":null},"timestamp":"2026-01-01T00:00:00Z"}`, 0},
		{"escaped key spelling another", `{"auditID":"a","\u0072equest":{"k":"` + canary + `"}}`,
			`{"auditID":"a"}`, 1},
		{"repeated key (decoded path)", `{"auditID":"a","verb":"get","verb":"list","extra":"` + canary + `"}`,
			`{"auditID":"a","verb":"list"}`, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := auditDecoder{}.Decode([]byte(tc.line))
			if err != nil || len(evs) != 1 {
				t.Fatalf("decode: %v (%d events)", err, len(evs))
			}
			out, err := evs[0].AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Errorf("got  %s\nwant %s", out, tc.want)
			}
			if strings.Contains(string(out), canary) {
				t.Errorf("canary survived: %s", out)
			}
			if evs[0].OutsideSchema != tc.wantRemoved {
				t.Errorf("OutsideSchema = %d, want %d", evs[0].OutsideSchema, tc.wantRemoved)
			}
		})
	}
}

// TestEventListItemsFromCheckedBytes: the items shipped are those checked, from the member
// named exactly "items"; members spelled otherwise (ITEMS, Items) are not items, and an
// item that is not an Event fails the line.
func TestEventListItemsFromCheckedBytes(t *testing.T) {
	const canary = "Q0FOQVJZLTAwMTU="
	smuggle := `[{"kind":"AdmissionReview","request":{"object":{"kind":"Secret","data":{"password":"` + canary + `"}}}}]`
	tests := []struct {
		name    string
		line    string
		wantIDs []string
	}{
		{"ITEMS after items", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"kind":"Event","auditID":"benign","verb":"get"}],"ITEMS":` + smuggle + `}`, []string{"benign"}},
		{"Items before items", `{"kind":"EventList","Items":` + smuggle + `,"items":[{"auditID":"benign","verb":"get"}]}`, []string{"benign"}},
		{"repeated items (decoded path)", `{"kind":"EventList","items":` + smuggle + `,"items":[{"auditID":"benign","verb":"get"}]}`, []string{"benign"}},
		{"repeated key inside an item", `{"kind":"EventList","items":[{"auditID":"benign","verb":"get","verb":"list"}]}`, []string{"benign"}},
		{"only ITEMS", `{"kind":"EventList","ITEMS":[{"auditID":"x"}]}`, nil},
		{"item not an event", `{"kind":"EventList","items":` + smuggle + `}`, nil},
		{"item of another kind", `{"kind":"EventList","items":[{"kind":"Pod","auditID":"p"}]}`, nil},
		{"item kind null", `{"kind":"EventList","items":[{"kind":null,"auditID":"p"}]}`, nil},
		{"items not a list", `{"kind":"EventList","items":{"auditID":"p"}}`, nil},
		{"item not an object", `{"kind":"EventList","items":["x"]}`, nil},
		{"items with extra members", `{"kind":"EventList","items":[{"auditID":"benign","request":` + smuggle + `}]}`, []string{"benign"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := auditDecoder{}.Decode([]byte(tc.line))
			if tc.wantIDs == nil {
				if err == nil {
					t.Fatalf("want an error, got %d events", len(evs))
				}
				return
			}
			if err != nil || len(evs) != len(tc.wantIDs) {
				t.Fatalf("decode: %v (%d events)", err, len(evs))
			}
			for i, ev := range evs {
				if id, _ := ev.Field("auditID").(string); id != tc.wantIDs[i] {
					t.Errorf("item %d auditID %q, want %q", i, id, tc.wantIDs[i])
				}
				out, err := ev.AppendJSON(nil)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(out), canary) || strings.Contains(string(out), "AdmissionReview") {
					t.Errorf("smuggled item shipped: %s", out)
				}
			}
		})
	}
}
