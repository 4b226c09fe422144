package redact

import (
	"bytes"
	"encoding/json"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/auditship/auditship/pipeline"
)

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

// patchAnnotationPrefix is the event annotation kube-apiserver writes, at level Request
// and above, with a mutating webhook's JSON Patch (values included): k8s.io/apiserver
// admission/plugin/webhook/mutating PatchAuditAnnotationPrefix.
const patchAnnotationPrefix = "patch.webhook.admission.k8s.io/"

var (
	markLastApplied   = []byte("last-applied-configuration")
	markSecretKind    = []byte(`"Secret`)
	markManagedFields = []byte("managedFields")
	// markTokenKind is TokenReview and TokenRequest, kinds the preset treats by kind.
	markTokenKind = []byte(`"TokenRe`)
	markEscape    = []byte(`\u`)

	// managedFieldsMarkers: the managed-fields preset finds nothing in an event without
	// the key's token or an escape that could spell it.
	managedFieldsMarkers = pipeline.NewMarkers(markManagedFields, markEscape)
)

// class is what a request's target says about its bodies.
type class uint8

const (
	classOther        class = iota
	classSecret             // the core-group secrets resource
	classTokenReview        // authentication.k8s.io tokenreviews
	classTokenRequest       // core-group serviceaccounts/token
)

// classify decides from objectRef (spelled in any case) and requestURI which resource the
// event is about. Either saying "secrets" makes it a secrets event (fail-closed: the two
// are written by the same server and disagree only in a forged or broken line); a
// resource named secrets in another API group (a custom resource) is not.
func classify(f map[string]any) class {
	c := classOther
	for k, v := range f {
		switch {
		case strings.EqualFold(k, "objectRef"):
			if ref, ok := v.(map[string]any); ok {
				c = classOf(c, memberFold(ref, "apiGroup"), memberFold(ref, "resource"), memberFold(ref, "subresource"))
			}
		case strings.EqualFold(k, "requestURI"):
			if uri, ok := v.(string); ok {
				c = uriClass(c, uri)
			}
		}
	}
	return c
}

// classOf returns the class of a request for resource/sub in API group, given what c
// already says: secrets wins over tokenreviews over serviceaccounts/token over the rest.
func classOf(c class, group, resource, sub string) class {
	core := group == "" || strings.EqualFold(group, "core")
	switch {
	case core && strings.EqualFold(resource, "secrets"):
		return classSecret
	case c == classSecret:
	case (core || strings.EqualFold(group, "authentication.k8s.io")) && strings.EqualFold(resource, "tokenreviews"):
		return classTokenReview
	case c == classTokenReview:
	case core && strings.EqualFold(resource, "serviceaccounts") && strings.EqualFold(sub, "token"):
		return classTokenRequest
	}
	return c
}

// memberFold returns the string member of m named name in any case ("" if none).
func memberFold(m map[string]any, name string) string {
	if s, ok := m[name].(string); ok {
		return s
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			if s, ok := v.(string); ok {
				return s
			}
		}
	}
	return ""
}

// uriClass returns what a request URI says, given what c already says: the path read as
// kube-apiserver's RequestInfoFactory reads it (empty and dot segments are segments
// there), and also with empty and dot segments resolved (path.Clean, as a proxy in front
// of it or a reader of the log may). Either reading naming a secret-bearing resource is
// enough (fail-closed).
func uriClass(c class, uri string) class {
	if group, resource, sub, ok := parseRequestURI(uri); ok {
		c = classOf(c, group, resource, sub)
	}
	p := uri
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if dec, err := url.PathUnescape(p); err == nil {
		p = dec
	}
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return c
	}
	if group, resource, sub, ok := parseRequestURI(path.Clean("/" + p)); ok {
		c = classOf(c, group, resource, sub)
	}
	return c
}

// parseRequestURI reads the API group, resource and subresource of a resource request
// path as kube-apiserver's RequestInfoFactory does: /api/{version}/... (core group) or
// /apis/{group}/{version}/..., then an optional legacy "watch", an optional
// namespaces/{namespace}, then {resource}[/{name}[/{subresource}]].
func parseRequestURI(uri string) (group, resource, sub string, ok bool) {
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	if strings.IndexByte(uri, '%') >= 0 {
		// The server routes on the decoded path: /api/v1/namespaces/p/%73ecrets is secrets.
		if dec, err := url.PathUnescape(uri); err == nil {
			uri = dec
		}
	}
	parts := strings.Split(strings.Trim(uri, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		group, parts = parts[1], parts[3:]
	default:
		return "", "", "", false
	}
	if len(parts) > 0 && parts[0] == "watch" {
		parts = parts[1:]
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	if len(parts) == 0 {
		return "", "", "", false
	}
	resource = parts[0]
	if len(parts) >= 3 {
		sub = parts[2]
	}
	return group, resource, sub, true
}

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

// jsonPatch treats an RFC 6902 patch of an object of schema root: each operation's value
// is checked against the schema at its path. A copy or move can carry a value from
// anywhere to anywhere, so its target is redacted in the event's other bodies (the
// object as stored after the patch).
func (p *pass) jsonPatch(ops []any, root *node) (any, bool) {
	kept := ops[:0:0]
	changed := false
	for _, o := range ops {
		op, isMap := o.(map[string]any)
		if !isMap {
			nv, rm := p.sanitize(o, leafRedact)
			changed = true
			if !rm {
				kept = append(kept, nv)
			}
			continue
		}
		path, pathOK := op["path"].(string)
		if opName, _ := op["op"].(string); pathOK && (opName == "copy" || opName == "move") {
			p.targets = append(p.targets, path)
		}
		for k, x := range op {
			var n *node
			switch k {
			case "op":
				n = jsonPatchOps
			case "path", "from":
				n = leafString // JSON Pointers: field names
			case "value":
				if pathOK {
					n = pointerNode(root, path)
				}
			}
			if n == nil {
				n = leafRedact
			}
			p.sanitizeMember(op, k, x, n)
		}
		kept = append(kept, op)
	}
	if !changed {
		return ops, false
	}
	return kept, false
}

// redactAt redacts the value at the JSON Pointer path inside v (an object as decoded) and
// returns v's replacement (nil when unchanged) and whether v itself goes.
func (p *pass) redactAt(v any, path string) (any, bool) {
	if v == nil {
		return nil, false
	}
	if path == "" {
		if isEmptyOrMasked(v) {
			return nil, false
		}
		return p.act.redact(p, v)
	}
	if path[0] != '/' {
		return nil, false
	}
	if p.redactIn(v, strings.Split(path[1:], "/")) {
		return v, false
	}
	return nil, false
}

// redactIn redacts, in place, what the JSON Pointer segments segs reach inside cur and
// reports whether anything was redacted. An array segment stands for every element of
// the array: "-" (RFC 6902: past the last element) and an index name the position at
// the time of the operation, and later operations of the same patch (an add before it,
// another append after it) move the value to another position of the object as stored.
func (p *pass) redactIn(cur any, segs []string) bool {
	seg := strings.ReplaceAll(strings.ReplaceAll(segs[0], "~1", "/"), "~0", "~")
	last := len(segs) == 1
	switch t := cur.(type) {
	case map[string]any:
		x, ok := t[seg]
		if !ok || x == nil {
			return false
		}
		if !last {
			return p.redactIn(x, segs[1:])
		}
		if isEmptyOrMasked(x) {
			return false
		}
		p.redactKey(t, seg)
		return true
	case []any:
		if idx, err := strconv.Atoi(seg); seg != "-" && (err != nil || idx < 0 || seg != strconv.Itoa(idx)) {
			return false
		}
		changed := false
		for i, x := range t {
			switch {
			case x == nil:
			case !last:
				changed = p.redactIn(x, segs[1:]) || changed
			case !isEmptyOrMasked(x):
				nv, rm := p.act.redact(p, x)
				if rm {
					nv = nil // an element cannot go without shifting the others' pointers
				}
				t[i] = nv
				changed = true
			}
		}
		return changed
	}
	return false
}

// isEmptyOrMasked reports whether v is a string that carries nothing: empty or masked.
func isEmptyOrMasked(v any) bool {
	s, ok := v.(string)
	return ok && (s == "" || s == Placeholder)
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

// eventAnnotations treats the event's own annotations. A mutating webhook's patch
// annotation holds the patch with its values: on a secret-bearing event it is kept to the
// schema of the object patched; elsewhere embedded Secrets in it are. On a secret-bearing
// event any other annotation keeps its value only when its key is on the event
// allow-list (admission webhooks and policies can write any value into one).
func (p *pass) eventAnnotations(ann map[string]any, c class) {
	var root *node
	switch c {
	case classSecret:
		root = secretSchema
	case classTokenReview:
		root = tokenReviewSchema
	case classTokenRequest:
		root = tokenRequestSchema
	}
	for k, v := range ann {
		if strings.HasPrefix(k, patchAnnotationPrefix) {
			p.webhookPatchAnnotation(ann, k, v, root)
			continue
		}
		if root == nil {
			continue
		}
		if s, ok := v.(string); ok && (s == "" || p.allow.event.has(k)) {
			continue
		}
		if v != nil {
			p.redactKey(ann, k)
		}
	}
}

// webhookPatchAnnotation treats one patch.webhook.admission.k8s.io annotation: a JSON
// string {"configuration","webhook","patch","patchType"}. root is the schema of the
// object patched, nil on an event that is not secret-bearing.
func (p *pass) webhookPatchAnnotation(ann map[string]any, k string, v any, root *node) {
	s, ok := v.(string)
	if !ok {
		if v != nil {
			p.redactKey(ann, k)
		}
		return
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(s), &doc); err != nil || doc == nil {
		if root != nil {
			p.redactKey(ann, k) // not understood on a secret-bearing event
		}
		return
	}
	before := p.n
	// A repeated member decodes to its last copy: what is checked below is then not
	// what the string holds, so the string is written from what was checked.
	rewrite := hasRepeatedKey(s)
	if root == nil {
		p.walk(doc)
	} else {
		for dk, dv := range doc {
			var n *node
			switch dk {
			case "configuration", "webhook", "patchType":
				n = leafString
			case "patch":
				if ops, isList := dv.([]any); isList {
					doc[dk], _ = p.jsonPatch(ops, root)
					continue
				}
			}
			if n == nil {
				n = leafRedact
			}
			p.sanitizeMember(doc, dk, dv, n)
		}
	}
	if p.n == before {
		if !rewrite {
			return
		}
		p.touch() // the annotation is rewritten: the event is changed (counted as a field)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		p.redactKey(ann, k)
		return
	}
	ann[k] = string(out)
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

// presetMarkers are the bytes without which the kubernetes-secrets preset finds nothing in
// an event that is not about a secret-bearing resource: the kinds it treats wherever they
// are, the last-applied annotation, and a \u escape that could spell any of them.
// They are searched in one pass over the event's bytes (pipeline.Markers).
var presetMarkers = pipeline.NewMarkers(markSecretKind, markTokenKind, markLastApplied, markEscape)

var objectRefNames = []string{"apiGroup", "resource", "subresource"}

// mayNameSecretBearing reports whether a request URI's JSON bytes may name secrets,
// tokenreviews or serviceaccounts/token (in any case, percent-encoded or escaped): most
// URIs are then read without being decoded.
func mayNameSecretBearing(raw []byte) bool {
	if bytes.IndexByte(raw, '%') >= 0 || bytes.IndexByte(raw, '\\') >= 0 {
		return true
	}
	// parseRequestURI and classOf compare the resource in any case: so does this.
	for i := 0; i+4 <= len(raw); i++ {
		switch raw[i] | 0x20 {
		case 'e':
			if i+5 <= len(raw) && bytes.EqualFold(raw[i:i+5], []byte("ecret")) {
				return true
			}
		case 'o':
			if bytes.EqualFold(raw[i:i+4], []byte("oken")) {
				return true
			}
		}
	}
	return false
}

// secretsGate reads, without decoding the event's bodies, which resource objectRef and
// requestURI name, and whether the event's bytes hold a marker (MayContain: a synthesised
// or freely changed event always may). Most events name no secret-bearing resource and
// hold no marker: they then cost a few byte searches instead of a full decode.
func secretsGate(ev *pipeline.Event) (class, bool) {
	c := classOther
	var ref [3]string
	if ev.Strings("objectRef", objectRefNames, ref[:]) {
		if ref[1] == "" {
			// No member named exactly resource: classify reads objectRef's members in
			// any case, and the gate must not decide otherwise than it.
			if m, ok := ev.Field("objectRef").(map[string]any); ok {
				ref[0], ref[1], ref[2] = memberFold(m, "apiGroup"), memberFold(m, "resource"), memberFold(m, "subresource")
			}
		}
		c = classOf(c, ref[0], ref[1], ref[2])
	}
	if raw, ok := ev.RawMember("requestURI"); !ok || mayNameSecretBearing(raw) {
		if uri, ok := ev.Field("requestURI").(string); ok {
			c = uriClass(c, uri)
		}
	}
	return c, ev.MayContainAny(presetMarkers)
}

// hasRepeatedKey reports whether the JSON text s (valid: it was decoded) has an object
// with a member name twice (names compared after unescaping, as encoding/json does).
func hasRepeatedKey(s string) bool {
	dec := json.NewDecoder(strings.NewReader(s))
	type frame struct {
		keys  map[string]bool
		isObj bool
		key   bool // the next string token of this object is a member name
	}
	var stack []frame
	for {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		if n := len(stack); n > 0 && stack[n-1].isObj {
			top := &stack[n-1]
			if k, ok := t.(string); ok && top.key {
				if top.keys[k] {
					return true
				}
				top.keys[k] = true
				top.key = false
				continue
			}
			if d, ok := t.(json.Delim); !ok || (d != '}' && d != ']') {
				top.key = true // a value: the next token is a name
			}
		}
		switch t {
		case json.Delim('{'):
			stack = append(stack, frame{keys: map[string]bool{}, isObj: true, key: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if n := len(stack); n > 0 && stack[n-1].isObj {
				stack[n-1].key = true
			}
		}
	}
}
