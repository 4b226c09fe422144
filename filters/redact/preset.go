// The presets' walk over an event's bodies: kubernetes-secrets (bodies of secret-bearing
// requests kept to their schema, secret-bearing objects found anywhere) and managed-fields.

package redact

import "strings"

// bodyKeys are the event fields that hold Kubernetes objects. oldObject is where the
// kube-audit-rest decoder keeps the AdmissionReview's oldObject.
var bodyKeys = [...]string{"requestObject", "responseObject", "oldObject"}

// eventObjects are the members of an audit Event that are API objects other than the
// bodies, with their schema: metadata (v1alpha1, v1beta1) and responseStatus.
var eventObjects = map[string]*node{"metadata": objectMeta, "responseStatus": statusSchema}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// lastAppliedPatchSuffix is how a JSON Patch path names the annotation (RFC 6901: "/"
// escaped as "~1").
const lastAppliedPatchSuffix = "/kubectl.kubernetes.io~1last-applied-configuration"

// secretsPreset is `preset: kubernetes-secrets`. On a secret-bearing request (the secrets
// resource, tokenreviews, serviceaccounts/token) every body keeps only what its schema
// allows (schema.go), and event annotations only what the event allow-list allows. In
// any other event, Secrets, SecretLists, TokenReviews and TokenRequests found inside
// bodies get the same treatment, and last-applied-configuration annotations are
// redacted wherever they are.
func (p *pass) secretsPreset(f map[string]any) {
	c := classify(f)
	if c == classOther && !p.search {
		return
	}
	if ann, ok := f["annotations"].(map[string]any); ok {
		p.eventAnnotations(ann, c)
	}
	if c != classOther {
		// The event's own members that are objects of the API: the v1alpha1/v1beta1
		// Event's ObjectMeta (kube-apiserver wrote only creationTimestamp) and the
		// response's Status. On a secret-bearing event they keep what their schema does.
		for k, n := range eventObjects {
			if x, ok := f[k]; ok && x != nil {
				p.sanitizeMember(f, k, x, n)
			}
		}
	}
	for _, k := range bodyKeys {
		body, ok := f[k]
		if !ok || body == nil {
			continue
		}
		before := p.n
		nv, rm := p.body(body, c, k == "responseObject")
		switch {
		case rm:
			p.removeBody(f, k)
		case p.n != before:
			f[k] = nv
		}
	}
	if len(p.targets) > 0 {
		for _, k := range bodyKeys {
			for _, path := range p.targets {
				if nv, rm := p.redactAt(f[k], path); rm {
					delete(f, k)
				} else if nv != nil {
					f[k] = nv
				}
			}
		}
	}
}

// body treats one request or response body of an event of class c and returns its
// replacement, or remove=true when the body is removed whole (counted apart).
func (p *pass) body(v any, c class, response bool) (any, bool) {
	m, isMap := v.(map[string]any)
	kind, _ := m["kind"].(string)
	switch {
	case c == classSecret:
		return p.secretBody(v, response)
	case isMap && kind == "TokenReview":
		return p.sanitize(v, tokenReviewSchema)
	case isMap && kind == "TokenRequest":
		return p.sanitize(v, tokenRequestSchema)
	case c == classTokenReview || c == classTokenRequest:
		switch {
		case isMap && kind == "Status" && response:
			// A failed request's answer: the API server's message stays.
			return p.sanitize(v, statusSchema)
		case isMap && kind == "":
			// A kind-less body of the token endpoint: its schema says what may stay.
			if c == classTokenReview {
				return p.sanitize(v, tokenReviewSchema)
			}
			return p.sanitize(v, tokenRequestSchema)
		}
		// Any other kind (or not an object) on a token endpoint is not understood.
		return nil, true
	case isMap && isCoreSecretKind(m, kind):
		return p.secretBody(v, response)
	}
	p.walk(v)
	return v, false
}

// isCoreSecretKind reports whether an object with this kind is a core Secret or SecretList:
// a custom resource of kind Secret in another API group is not. The core group is the
// empty one ("v1", "/v1", no apiVersion), also when spelled "core" as classOf reads it
// (a controller filling in a template need not check the group as kube-apiserver does).
func isCoreSecretKind(m map[string]any, kind string) bool {
	if kind != "Secret" && kind != "SecretList" {
		return false
	}
	av, _ := m["apiVersion"].(string)
	i := strings.LastIndexByte(av, '/')
	return i < 0 || av[:i] == "" || strings.EqualFold(av[:i], "core")
}

// secretBody treats a body of the secrets resource: a JSON Patch, a Status (only as a
// response), DeleteOptions, a list, a Table, or else a Secret (or a merge or apply patch
// of one, or a metadata-only view): the Secret schema decides what stays.
func (p *pass) secretBody(v any, response bool) (any, bool) {
	switch b := v.(type) {
	case nil:
		return nil, false
	case []any:
		return p.jsonPatch(b, secretSchema)
	case map[string]any:
		kind, _ := b["kind"].(string)
		switch kind {
		case "Status":
			if response {
				return p.sanitize(v, statusSchema)
			}
		case "DeleteOptions":
			return p.sanitize(v, deleteOptionsSchema)
		case "SecretList", "List", "PartialObjectMetadataList":
			return p.sanitize(v, secretListSchema)
		case "Table":
			return p.sanitize(v, tableSchema)
		}
		return p.sanitize(v, secretSchema)
	}
	return p.act.redact(p, v)
}

// walk looks through a body that is not itself secret-bearing for what is: embedded
// Secrets, SecretLists, TokenReviews and TokenRequests (each kept to its schema), and the
// last-applied-configuration annotation (which holds whole manifests in plain text),
// also as set by a JSON Patch operation.
func (p *pass) walk(v any) {
	switch t := v.(type) {
	case map[string]any:
		if path, ok := t["path"].(string); ok && strings.HasSuffix(path, lastAppliedPatchSuffix) {
			p.redactKey(t, "value") // a JSON Patch operation setting the annotation
		}
		for k, x := range t {
			if k == lastApplied {
				if s, ok := x.(string); !ok || s != "" {
					p.redactKey(t, k)
				}
				continue
			}
			m, isMap := x.(map[string]any)
			if !isMap {
				p.walk(x)
				continue
			}
			kind, _ := m["kind"].(string)
			var schema *node
			switch {
			case isCoreSecretKind(m, kind) && kind == "Secret":
				schema = secretSchema
			case isCoreSecretKind(m, kind):
				schema = secretListSchema
			case kind == "TokenReview":
				schema = tokenReviewSchema
			case kind == "TokenRequest":
				schema = tokenRequestSchema
			default:
				p.walk(x)
				continue
			}
			p.sanitizeMember(t, k, m, schema)
		}
	case []any:
		for i, x := range t {
			m, isMap := x.(map[string]any)
			if !isMap {
				p.walk(x)
				continue
			}
			kind, _ := m["kind"].(string)
			switch {
			case isCoreSecretKind(m, kind) && kind == "Secret":
				t[i], _ = p.sanitize(m, secretSchema)
			case isCoreSecretKind(m, kind):
				t[i], _ = p.sanitize(m, secretListSchema)
			case kind == "TokenReview":
				t[i], _ = p.sanitize(m, tokenReviewSchema)
			case kind == "TokenRequest":
				t[i], _ = p.sanitize(m, tokenRequestSchema)
			default:
				p.walk(x)
			}
		}
	}
}

// managedFieldsPreset is `preset: managed-fields`: metadata.managedFields is bookkeeping
// of which manager set which field, large and of no security value.
func (p *pass) managedFieldsPreset(f map[string]any) {
	if !p.ev.MayContainAny(managedFieldsKey) { // spelled with escapes too
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
