// The event's own annotations on secret-bearing events, and mutating webhooks' patch
// annotations (which hold the patch's values) on every event.

package redact

import (
	"encoding/json"
	"strings"
)

// patchAnnotationPrefix is the event annotation kube-apiserver writes, at level Request
// and above, with a mutating webhook's JSON Patch (values included): k8s.io/apiserver
// admission/plugin/webhook/mutating PatchAuditAnnotationPrefix.
const patchAnnotationPrefix = "patch.webhook.admission.k8s.io/"

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
