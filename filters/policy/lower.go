// What lowering an event to a level removes besides its bodies: managedFields, the
// Request-level annotations; and how to tell the level an event was written at.

package policy

import (
	"strings"

	"github.com/auditship/auditship/internal/jsonbytes"
	"github.com/auditship/auditship/pipeline"
)

// stripManagedFieldsJSON removes metadata.managedFields from a body's JSON, from every
// item of a list, and from the object of every row of a Table (kubectl get's
// `as=Table` responses embed each object, or its metadata, in rows[].object), as
// kube-apiserver does for omitManagedFields (copyWithoutManagedFields in
// k8s.io/apiserver/pkg/audit/request.go).
func stripManagedFieldsJSON(body []byte) ([]byte, bool) {
	out, stripped := jsonbytes.EditMember(body, "metadata", func(md []byte) ([]byte, bool) {
		return jsonbytes.DeleteMember(md, "managedFields")
	})
	out, inItems := jsonbytes.EditMember(out, "items", func(items []byte) ([]byte, bool) {
		return jsonbytes.EditElements(items, stripManagedFieldsJSON)
	})
	inRows := false
	if isTable(out) {
		out, inRows = jsonbytes.EditMember(out, "rows", func(rows []byte) ([]byte, bool) {
			return jsonbytes.EditElements(rows, func(row []byte) ([]byte, bool) {
				return jsonbytes.EditMember(row, "object", stripManagedFieldsJSON)
			})
		})
	}
	return out, stripped || inItems || inRows
}

// isTable reports whether a body is a meta.k8s.io Table: only then are its rows objects
// (a custom resource may have a "rows" member of its own).
func isTable(body []byte) bool {
	table := false
	jsonbytes.EditMember(body, "kind", func(kind []byte) ([]byte, bool) {
		table = string(kind) == `"Table"`
		return kind, false
	})
	return table
}

// requestLevelAnnotationPrefixes are the event annotations kube-apiserver writes only at
// level Request and above (admission.Attributes AddAnnotationWithLevel with
// LevelRequest): the mutating webhook dispatcher's patch annotation, which holds the
// webhook's JSON Patch with its values (k8s.io/apiserver admission/plugin/webhook/mutating
// PatchAuditAnnotationPrefix). An event lowered below Request loses them, as it would
// have been written without them.
var requestLevelAnnotationPrefixes = [...]string{"patch.webhook.admission.k8s.io/"}

// requestLevelMarkers: an event lowered below Request holds a Request-level annotation
// only if its bytes hold the prefix's tail or an escape that could spell it.
var requestLevelMarkers = pipeline.NewMarkers([]byte("webhook.admission.k8s.io/"), []byte(`\u`))

// managedFieldsKey: an event holds a managedFields member only if its bytes hold one of
// these (the key's token, or an escape that could spell it).
var managedFieldsKey = pipeline.KeyMarkers("managedFields")

// removeRequestLevelAnnotations removes the Request-level annotations from ev's
// annotations (the others, and the rest of the event, stay as they are).
func removeRequestLevelAnnotations(ev *pipeline.Event) {
	ann, ok := ev.Field("annotations").(map[string]any)
	if !ok {
		return
	}
	var kept map[string]any
	for k := range ann {
		for _, p := range requestLevelAnnotationPrefixes {
			if strings.HasPrefix(k, p) {
				if kept == nil {
					kept = make(map[string]any, len(ann))
					for k2, v2 := range ann {
						kept[k2] = v2
					}
				}
				delete(kept, k)
			}
		}
	}
	if kept != nil {
		ev.SetField("annotations", kept)
	}
}

func levelFrom(f func(string) any) (Level, bool) {
	if s, ok := f("level").(string); ok {
		if l, ok := parseLevel(s); ok {
			return l, true
		}
	}
	switch {
	case f("responseObject") != nil || f("oldObject") != nil:
		return LevelRequestResponse, false
	case f("requestObject") != nil:
		return LevelRequest, false
	}
	return LevelMetadata, false
}
