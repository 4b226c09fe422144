package redact

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/internal/leakcorpus"
)

// fuzzGen builds a secret-bearing line from fuzz bytes: a Secret body, list, table or
// patch of random structure, in a random envelope. Every string it writes where a secret
// may be (a "slot": data and token values, annotation values, members a Secret does not
// have, JSON Patch values at such paths, anything of the wrong type) is a slot; one
// slot, chosen by the input, holds the canary. Strings the preset keeps by design (names,
// labels, type, kinds, paths) come from a fixed vocabulary and are never the canary.
type fuzzGen struct {
	data   []byte
	slot   int // the slot that gets the canary
	slots  int // slots written so far
	canary string
	placed bool
}

func (g *fuzzGen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

func (g *fuzzGen) pick(n int) int { return int(g.byte()) % n }

func (g *fuzzGen) word(ws ...string) string { return ws[g.pick(len(ws))] }

// secretString is a string in a slot: the canary when its turn comes, else a filler.
func (g *fuzzGen) secretString() string {
	g.slots++
	if g.slots-1 == g.slot || (!g.placed && len(g.data) == 0) {
		g.placed = true
		return g.canary
	}
	return "filler"
}

var fuzzKeys = []string{"data", "Data", "stringData", "metadata", "spec", "value", "items", "token", "annotations",
	"labels", "type", "kind", "password", "x", "$patch", "$setElementOrder/data", "status", "object", "cells", "k:{}", "f:data"}

// anyValue is a random value in a slot: every string in it is a slot.
func (g *fuzzGen) anyValue(depth int) any {
	switch c := g.pick(6); {
	case depth > 3 || c == 0:
		return g.secretString()
	case c == 1:
		m := map[string]any{}
		for range g.pick(4) + 1 {
			m[g.word(fuzzKeys...)] = g.anyValue(depth + 1)
		}
		return m
	case c == 2:
		a := []any{}
		for range g.pick(3) + 1 {
			a = append(a, g.anyValue(depth+1))
		}
		return a
	case c == 3:
		return map[string]any{"kind": "Secret", "data": map[string]any{"k": g.secretString()}}
	case c == 4:
		return float64(g.pick(100))
	default:
		return g.secretString()
	}
}

// secret is a Secret (or a merge patch of one) with random members.
func (g *fuzzGen) secret(depth int) map[string]any {
	s := map[string]any{}
	for range g.pick(6) + 1 {
		switch g.pick(10) {
		case 0:
			s["data"] = map[string]any{g.word("a", "password", "tls.key", "$patch"): g.secretString(), "b": g.anyValue(depth + 1)}
		case 1:
			s["stringData"] = map[string]any{"s": g.secretString()}
		case 2:
			md := map[string]any{"name": g.word("s1", "s2"), "labels": map[string]any{"app": "db"}}
			switch g.pick(5) {
			case 0:
				md["annotations"] = map[string]any{g.word("kapp.k14s.io/original", "kubernetes.io/change-cause", "objectset.rio.cattle.io/applied", lastApplied, "x"): g.secretString()}
			case 1:
				md[g.word("stringData", "data", "spec", "Labels", "Name")] = g.anyValue(depth + 1)
			case 2:
				md["managedFields"] = []any{map[string]any{"manager": "kubectl", "fieldsV1": map[string]any{"f:data": map[string]any{}, "v:" + g.secretString(): map[string]any{}, "f:x": g.anyValue(depth + 1)}, g.word("data", "extra"): g.anyValue(depth + 1)}}
			case 3:
				md["ownerReferences"] = []any{map[string]any{"name": "o", g.word("data", "extra", "controller"): g.anyValue(depth + 1)}}
			}
			s["metadata"] = md
		case 3:
			if g.pick(2) == 0 {
				s["type"] = "Opaque"
			} else {
				s["type"] = g.anyValue(depth + 1)
				if str, ok := s["type"].(string); ok {
					s["type"] = map[string]any{"v": str} // a string type is kept by design
				}
			}
		case 4:
			s["immutable"] = g.secretString()
		case 5:
			s["kind"] = g.word("Secret", "Secret", "SecretList", "Table", "Status", "PartialObjectMetadata", "DeleteOptions")
		case 6:
			s[g.word("spec", "Data", "STRINGDATA", "values", "message", "items", "rows", "object")] = g.anyValue(depth + 1)
		case 7:
			s["apiVersion"] = g.word("v1", "meta.k8s.io/v1")
		case 8:
			if depth < 2 {
				s["items"] = []any{g.secret(depth + 1), g.secret(depth + 1)}
			}
		case 9:
			s["$patch"] = g.word("replace", "delete")
		}
	}
	if s["kind"] == "Status" {
		delete(s, "kind") // a Status answer keeps its message by design; the fuzz plants nothing kept by design
	}
	return s
}

// jsonPatch is an RFC 6902 patch of a Secret.
func (g *fuzzGen) jsonPatch() []any {
	var ops []any
	for range g.pick(4) + 1 {
		op := map[string]any{"op": g.word("add", "replace", "test", "copy", "move", "remove")}
		path := g.word("/data/x", "/stringData/y", "/metadata/annotations/a", "/metadata", "", "/type", "/kind", "/spec/x",
			"/metadata/stringData", "/data", "/immutable", "/metadata/managedFields/0/fieldsV1", "data", "/metadata/labels")
		op["path"] = path
		switch op["op"] {
		case "copy", "move":
			op["from"] = g.word("/data/x", "/stringData/y")
		case "remove":
		default:
			switch path {
			case "", "/metadata":
				op["value"] = g.secret(1)
			case "/type", "/kind":
				op["value"] = map[string]any{"v": g.secretString()}
			case "/metadata/labels":
				op["value"] = map[string]any{"a": map[string]any{"v": g.secretString()}}
			default:
				op["value"] = g.anyValue(1)
			}
		}
		if g.pick(4) == 0 {
			op[g.word("value2", "note", "Value")] = g.secretString()
		}
		ops = append(ops, op)
	}
	return ops
}

// line wraps a body in one of the envelopes the preset must recognise.
func (g *fuzzGen) line() ([]byte, string) {
	var body any
	switch g.pick(3) {
	case 0:
		body = g.jsonPatch()
	default:
		body = g.secret(0)
	}
	ref := map[string]any{"resource": "secrets", "namespace": "p", "name": "s1", "apiVersion": "v1"}
	ev := map[string]any{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse", "auditID": "f",
		"stage": "ResponseComplete", "verb": "patch", "requestURI": "/api/v1/namespaces/p/secrets/s1", "objectRef": ref}
	member := g.word("requestObject", "responseObject")
	format := "audit"
	switch g.pick(7) {
	case 0: // by requestURI alone
		delete(ev, "objectRef")
	case 1: // objectRef spelled otherwise
		delete(ev, "objectRef")
		ev[g.word("ObjectRef", "objectref")] = ref
	case 2: // embedded in a custom resource
		if m, ok := body.(map[string]any); ok {
			m["kind"] = "Secret"
			delete(m, "apiVersion")
		} else {
			body = map[string]any{"kind": "Secret", "data": map[string]any{"k": g.secretString()}}
		}
		ev["objectRef"] = map[string]any{"resource": "databases", "apiGroup": "example.com"}
		ev["requestURI"] = "/apis/example.com/v1/namespaces/p/databases/d"
		body = map[string]any{"kind": "Database", "spec": map[string]any{"template": body, "list": []any{body}}}
	case 3: // a mutating webhook's patch annotation
		b, _ := json.Marshal(map[string]any{"configuration": "c", "webhook": "w", "patchType": "JSONPatch", "patch": g.jsonPatch()})
		ev["annotations"] = map[string]any{"patch.webhook.admission.k8s.io/round_0_index_0": string(b), "other.example.com/x": g.secretString()}
	case 4: // kube-audit-rest
		format = "kube-audit-rest"
		obj, _ := body.(map[string]any)
		if obj == nil {
			obj = map[string]any{"kind": "Secret", "data": map[string]any{"k": g.secretString()}}
		}
		b, _ := json.Marshal(map[string]any{"kind": "AdmissionReview", "request": map[string]any{
			"uid": "u", "operation": "UPDATE", "name": "s1", "namespace": "p",
			"resource": map[string]any{"group": "", "version": "v1", "resource": "secrets"}, "object": obj, "oldObject": obj}})
		return b, format
	case 5: // a token request
		ev["objectRef"] = map[string]any{"resource": "serviceaccounts", "subresource": "token", "namespace": "p", "name": "sa"}
		ev["requestURI"] = "/api/v1/namespaces/p/serviceaccounts/sa/token"
		if m, ok := body.(map[string]any); ok {
			m["kind"] = g.word("TokenRequest", "Foo", "")
			m["status"] = map[string]any{"token": g.secretString(), g.word("jwt", "Token"): g.anyValue(2)}
		}
	}
	ev[member] = body
	b, _ := json.Marshal(ev)
	return b, format
}

// FuzzSecretsPreset plants a canary (plain, base64 or gzip+base64) at a random secret
// position of a generated Secret body or patch, in a random envelope, and runs the
// decoder and the preset under each action: the canary never reaches the output.
func FuzzSecretsPreset(f *testing.F) {
	for _, seed := range []string{"", "\x00\x01\x02", "\x05\x07\x01\x03\x02\x09", "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b",
		"\x03\x03\x03\x03\x03\x03\x03\x03", "\x06\x06\x06\x06\x06\x06", "\x02\x04\x06\x08\x0a\x0c\x0e\x10"} {
		f.Add([]byte(seed))
	}
	filters := map[string]*Filter{}
	for _, a := range []string{"mask", "remove", "hash"} {
		filters[a] = presetFilter(f, a)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 256 {
			return
		}
		form := leakcorpus.Forms[0]
		if len(data) > 0 {
			form = leakcorpus.Forms[int(data[0])%len(leakcorpus.Forms)]
		}
		plain := "CANARY-FUZZ-Zq7"
		g := &fuzzGen{data: data, canary: leakcorpus.Encode(plain, form)}
		if len(data) > 1 {
			g.slot = int(data[1]) % 16
		}
		line, format := g.line()
		if !g.placed {
			return // the input ended before a slot for the canary
		}
		dec, err := decode.New(format)
		if err != nil {
			t.Fatal(err)
		}
		for action, flt := range filters {
			evs, err := dec.Decode(line)
			if err != nil {
				continue
			}
			for _, ev := range evs {
				if keep, err := flt.Apply(ev); err != nil || !keep {
					continue // dropped: nothing shipped
				}
				out, err := ev.AppendJSON(nil)
				if err != nil {
					t.Fatal(err)
				}
				if leakcorpus.Leak(out, []string{plain}) != "" || strings.Contains(string(out), g.canary) {
					t.Fatalf("%s: canary (%s) leaked\nin:  %s\nout: %s", action, form, line, out)
				}
			}
		}
	})
}
