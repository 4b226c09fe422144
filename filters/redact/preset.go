package redact

import (
	"strings"
)

// bodyKeys are the event fields that hold Kubernetes objects. oldObject is where the
// kube-audit-rest decoder keeps the AdmissionReview's oldObject.
var bodyKeys = [...]string{"requestObject", "responseObject", "oldObject"}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// lastAppliedPatchSuffix is how a JSON Patch path names the annotation (RFC 6901: "/"
// escaped as "~1").
const lastAppliedPatchSuffix = "/kubectl.kubernetes.io~1last-applied-configuration"

var (
	markLastApplied   = []byte("last-applied-configuration")
	markSecretKind    = []byte(`"Secret`)
	markManagedFields = []byte("managedFields")
	// markTokenKind is TokenReview and TokenRequest, kinds the preset treats by kind.
	markTokenKind = []byte(`"TokenRe`)
	markEscape    = []byte(`\u`)
)

// secretsPreset is `preset: kubernetes-secrets`.
//
// Bodies of secret-bearing resources (secrets, tokenreviews, serviceaccounts/token) are
// checked against the shapes the API server produces; any other shape removes the whole
// body (fail-closed). Elsewhere every object is searched for the last-applied-configuration
// annotation and for embedded Secrets.
func (p *pass) secretsPreset(f map[string]any) {
	resource, subresource := "", ""
	if ref, ok := f["objectRef"].(map[string]any); ok {
		resource, _ = ref["resource"].(string)
		subresource, _ = ref["subresource"].(string)
	}
	// Searching every object is the costly part; the raw bytes say whether it can find
	// anything (MayContain: a synthesised or freely changed event is always searched).
	// A \u escape could spell either marker, so it means searching too.
	search := p.ev.MayContain(markLastApplied) || p.ev.MayContain(markSecretKind) || p.ev.MayContain(markEscape)
	for _, k := range bodyKeys {
		body, ok := f[k]
		if !ok || body == nil {
			continue
		}
		understood, typed := true, true
		switch {
		case resource == "secrets":
			understood = p.secretBody(body)
		case resource == "tokenreviews":
			understood = p.tokenBody(body, "spec")
		case resource == "serviceaccounts" && subresource == "token":
			understood = p.tokenBody(body, "status")
		default:
			if m, ok := body.(map[string]any); ok {
				// A body that says what it is gets the same treatment whatever the URL.
				switch m["kind"] {
				case "Secret", "SecretList":
					understood = p.secretBody(body)
				case "TokenReview":
					understood = p.tokenBody(body, "spec")
				case "TokenRequest":
					understood = p.tokenBody(body, "status")
				default:
					typed = false
				}
			} else {
				typed = false
			}
		}
		if !understood {
			p.removeKey(f, k)
			continue
		}
		if search {
			// A body already handled as a Secret is not searched for Secrets again, or
			// its values would be redacted (and counted) twice.
			p.walk(body, !typed)
		}
	}
}

// walk looks through any object for the last-applied-configuration annotation (which
// holds whole manifests, Secrets included, in plain text) and for embedded Secrets.
func (p *pass) walk(v any, secrets bool) {
	switch t := v.(type) {
	case map[string]any:
		if secrets && t["kind"] == "Secret" {
			p.secretObject(t)
		}
		if path, ok := t["path"].(string); ok && strings.HasSuffix(path, lastAppliedPatchSuffix) {
			p.redactKey(t, "value") // a JSON Patch operation setting the annotation
		}
		for k, x := range t {
			if k == lastApplied {
				p.redactKey(t, k)
				continue
			}
			p.walk(x, secrets)
		}
	case []any:
		for _, x := range t {
			p.walk(x, secrets)
		}
	}
}

// secretBody handles a body of the secrets resource: a Secret, a merge/apply patch (a
// partial Secret), a SecretList, a Table, a JSON Patch, or a body that carries no data
// (Status, DeleteOptions, metadata-only). It reports false for any other shape.
func (p *pass) secretBody(body any) bool {
	switch b := body.(type) {
	case []any:
		return p.secretJSONPatch(b)
	case map[string]any:
		switch b["kind"] {
		case "Secret", nil:
			return p.secretObject(b)
		case "SecretList", "List", "PartialObjectMetadataList":
			return p.secretList(b)
		case "Table":
			return p.secretTable(b)
		case "Status", "DeleteOptions", "PartialObjectMetadata":
			// No data field exists in these kinds; a Status message never carries values.
			_, hasData := b["data"]
			_, hasStringData := b["stringData"]
			return !hasData && !hasStringData
		}
	}
	return false
}

// secretKeys are the fields a Secret (or a patch of one) may have.
var secretKeys = map[string]bool{
	"apiVersion": true, "kind": true, "metadata": true, "data": true, "stringData": true,
	"type": true, "immutable": true,
}

// secretObject redacts every value of data and stringData. It reports false when the
// object has fields a Secret does not, or values of unexpected types (which it still
// redacts whole); callers that can remove the body then do.
func (p *pass) secretObject(m map[string]any) bool {
	ok := true
	for k, v := range m {
		switch {
		case k == "data" || k == "stringData":
			if !p.secretData(m, k, v) {
				ok = false
			}
		case k == "metadata":
			if _, isMap := v.(map[string]any); !isMap && v != nil {
				ok = false
			}
		case strings.HasPrefix(k, "$"):
			// Strategic merge patch directives ($patch, $retainKeys, $setElementOrder/...)
			// hold directive words and field names, never values.
			if !directiveValue(v) {
				ok = false
			}
		case !secretKeys[k]:
			ok = false
		}
	}
	return ok
}

func (p *pass) secretData(m map[string]any, k string, v any) bool {
	switch d := v.(type) {
	case nil:
		return true // a merge patch deleting the field
	case map[string]any:
		ok := true
		for key, val := range d {
			switch val.(type) {
			case nil:
			case string:
				p.redactKey(d, key)
			default:
				p.redactKey(d, key)
				ok = false
			}
		}
		return ok
	default:
		p.redactKey(m, k)
		return false
	}
}

func directiveValue(v any) bool {
	switch t := v.(type) {
	case string:
		return true
	case []any:
		for _, x := range t {
			if _, ok := x.(string); !ok {
				return false
			}
		}
		return true
	}
	return false
}

func (p *pass) secretList(m map[string]any) bool {
	ok := true
	for k, v := range m {
		switch k {
		case "apiVersion", "kind", "metadata":
		case "items":
			items, isList := v.([]any)
			if !isList && v != nil {
				return false
			}
			for _, it := range items {
				obj, isMap := it.(map[string]any)
				if !isMap {
					return false
				}
				switch obj["kind"] {
				case "Secret", "PartialObjectMetadata", nil:
					if !p.secretObject(obj) {
						ok = false
					}
				default:
					ok = false
				}
			}
		default:
			ok = false
		}
	}
	return ok
}

// secretTable handles `kubectl get secrets` responses (as=Table): the cells of the
// secrets printer are name, type, data count and age; rows may embed the object.
func (p *pass) secretTable(m map[string]any) bool {
	for k, v := range m {
		switch k {
		case "apiVersion", "kind", "metadata", "columnDefinitions":
		case "rows":
			rows, isList := v.([]any)
			if !isList && v != nil {
				return false
			}
			for _, r := range rows {
				row, isMap := r.(map[string]any)
				if !isMap {
					return false
				}
				for rk, rv := range row {
					switch rk {
					case "cells", "conditions":
					case "object":
						if rv == nil {
							continue
						}
						obj, isMap := rv.(map[string]any)
						if !isMap || !p.secretObject(obj) {
							return false
						}
					default:
						return false
					}
				}
			}
		default:
			return false
		}
	}
	return true
}

// secretJSONPatch handles an RFC 6902 patch of a Secret: values written under /data or
// /stringData are redacted, a whole-document value is treated as a Secret, and
// operations on metadata and type are left alone. Anything else is not understood.
func (p *pass) secretJSONPatch(ops []any) bool {
	ok := true
	for _, o := range ops {
		op, isMap := o.(map[string]any)
		if !isMap {
			return false
		}
		path, isString := op["path"].(string)
		if !isString {
			return false
		}
		for k := range op {
			switch k {
			case "op", "path", "value", "from":
			default:
				ok = false
			}
		}
		switch {
		case path == "/data" || path == "/stringData":
			if !p.secretData(op, "value", op["value"]) {
				ok = false
			}
		case strings.HasPrefix(path, "/data/") || strings.HasPrefix(path, "/stringData/"):
			p.redactKey(op, "value")
		case path == "":
			v, has := op["value"]
			if !has || v == nil {
				continue
			}
			obj, isMap := v.(map[string]any)
			if !isMap || !p.secretObject(obj) {
				p.redactKey(op, "value")
				ok = false
			}
		case path == "/metadata" || strings.HasPrefix(path, "/metadata/"),
			path == "/type", path == "/immutable", path == "/kind", path == "/apiVersion":
		default:
			ok = false
		}
	}
	return ok
}

// tokenBody redacts field.token in a TokenReview (spec) or TokenRequest (status).
func (p *pass) tokenBody(body any, field string) bool {
	m, ok := body.(map[string]any)
	if !ok {
		return false
	}
	switch sub := m[field].(type) {
	case nil:
	case map[string]any:
		p.redactKey(sub, "token")
	default:
		return false
	}
	// The request of one is echoed in the other's shape; a token in the "wrong" half is
	// still a token.
	other := "status"
	if field == "status" {
		other = "spec"
	}
	if sub, ok := m[other].(map[string]any); ok {
		p.redactKey(sub, "token")
	}
	return true
}

// managedFieldsPreset is `preset: managed-fields`: metadata.managedFields is bookkeeping
// of which manager set which field, large and of no security value.
func (p *pass) managedFieldsPreset(f map[string]any) {
	if !p.ev.MayHaveKey("managedFields") { // spelled with escapes too
		return
	}
	for _, k := range bodyKeys {
		p.stripManagedFields(f[k])
	}
}

func (p *pass) stripManagedFields(body any) {
	m, ok := body.(map[string]any)
	if !ok {
		return
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		p.removeKey(md, "managedFields")
	}
	if items, ok := m["items"].([]any); ok {
		for _, it := range items {
			p.stripManagedFields(it)
		}
	}
}
