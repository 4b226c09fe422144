package gen

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/auditship/auditship/internal/corpustest"
)

// shapes is what TestShapesMatchKubeAPIServer compares, per resource (resource/subresource
// of objectRef): the JSON kinds at each member path of the bodies, the merge keys of the
// k:{...} FieldsV1 keys per list, and how many events with a body hold escaped keys.
type shapes struct {
	kinds     map[string]map[string]map[string]bool // resource → path → kinds
	mergeKeys map[string]map[string]map[string]bool // resource → list (f:name) → "containerPort,protocol"
	bodies    map[string]int
	escaped   map[string]int
}

func newShapes() *shapes {
	return &shapes{kinds: map[string]map[string]map[string]bool{}, mergeKeys: map[string]map[string]map[string]bool{},
		bodies: map[string]int{}, escaped: map[string]int{}}
}

// freeForm are the members whose keys are data, not schema: their paths stop there.
var freeForm = map[string]bool{"labels": true, "annotations": true, "data": true, "stringData": true,
	"matchLabels": true, "selector": true, "nodeSelector": true, "capacity": true, "allocatable": true,
	"limits": true, "requests": true, "extra": true, "binaryData": true}

func (s *shapes) add(t *testing.T, line []byte) {
	var ev map[string]any
	if err := json.Unmarshal(line, &ev); err != nil {
		t.Fatal(err)
	}
	ref, _ := ev["objectRef"].(map[string]any)
	res, _ := ref["resource"].(string)
	sub, _ := ref["subresource"].(string)
	// Bodies of one resource differ by kind (a Pod, a PodList, a Status for a denied
	// request): compared per kind.
	r := res + "/" + sub
	for _, k := range []string{"requestObject", "responseObject"} {
		if b, ok := ev[k].(map[string]any); ok {
			kind, _ := b["kind"].(string)
			r = res + "/" + sub + " " + kind
		}
	}
	hasBody := false
	for _, k := range []string{"requestObject", "responseObject"} {
		if b, ok := ev[k]; ok {
			hasBody = true
			s.walk(r, k, b)
		}
	}
	if !hasBody {
		return
	}
	s.bodies[r]++
	if EscapedKeys(line) > 0 {
		s.escaped[r]++
	}
}

func (s *shapes) walk(r, path string, v any) {
	if s.kinds[r] == nil {
		s.kinds[r] = map[string]map[string]bool{}
	}
	if s.kinds[r][path] == nil {
		s.kinds[r][path] = map[string]bool{}
	}
	s.kinds[r][path][kindName(v)] = true
	switch v := v.(type) {
	case map[string]any:
		last := path[strings.LastIndexByte(path, '.')+1:]
		if last == "fieldsV1" {
			s.fields(r, "", v)
			return
		}
		if freeForm[last] {
			return
		}
		for k, x := range v {
			s.walk(r, path+"."+k, x)
		}
	case []any:
		for _, x := range v {
			s.walk(r, path+"[]", x)
		}
	}
}

// fields records the merge keys of the k:{...} keys under each list of a FieldsV1 set.
func (s *shapes) fields(r, list string, set map[string]any) {
	for k, x := range set {
		if strings.HasPrefix(k, "k:") && list != "" {
			var key map[string]any
			if err := json.Unmarshal([]byte(k[2:]), &key); err == nil {
				names := make([]string, 0, len(key))
				for n := range key {
					names = append(names, n)
				}
				sort.Strings(names)
				if s.mergeKeys[r] == nil {
					s.mergeKeys[r] = map[string]map[string]bool{}
				}
				if s.mergeKeys[r][list] == nil {
					s.mergeKeys[r][list] = map[string]bool{}
				}
				s.mergeKeys[r][list][strings.Join(names, ",")] = true
			}
		}
		if sub, ok := x.(map[string]any); ok {
			s.fields(r, k, sub)
		}
	}
}

func kindName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	default:
		return "object"
	}
}

// TestShapesMatchKubeAPIServer checks the generator against what a real kube-apiserver
// wrote (testdata/kube-apiserver, recorded by internal/testing/kube's traffic), for each
// resource both have: a member path both bodies have holds the same JSON kinds; a list
// both key by FieldsV1 k:{...} keys is keyed by the same fields (containers by name, ports
// by containerPort and protocol, ...); and a resource whose real events hold escaped keys
// holds them in at least half as large a share of the generator's. The generator models
// more than that traffic (kubelets, nodes, controllers), so paths only one side has are
// not compared.
func TestShapesMatchKubeAPIServer(t *testing.T) {
	real, generated := newShapes(), newShapes()
	for _, l := range corpustest.KubeAuditLines(t) {
		real.add(t, l)
	}
	g := New(1)
	for i := range 6000 {
		generated.add(t, g.Event(i))
	}
	shared, paths, lists := 0, 0, 0
	for r, genPaths := range generated.kinds {
		realPaths, ok := real.kinds[r]
		if !ok {
			continue
		}
		shared++
		for p, kinds := range genPaths {
			rk, ok := realPaths[p]
			if !ok {
				continue
			}
			paths++
			for k := range kinds {
				if !rk[k] && !(k == "null" || rk["null"]) {
					t.Errorf("%s %s: the generator writes a %s, kube-apiserver %v", r, p, k, keys(rk))
				}
			}
		}
		for list, sets := range generated.mergeKeys[r] {
			realSets, ok := real.mergeKeys[r][list]
			if !ok {
				continue
			}
			lists++
			for set := range sets {
				if !realSets[set] {
					t.Errorf("%s FieldsV1 %s: the generator keys items by %s, kube-apiserver by %v", r, list, set, keys(realSets))
				}
			}
		}
		if real.escaped[r] > 0 {
			rs := float64(real.escaped[r]) / float64(real.bodies[r])
			gs := float64(generated.escaped[r]) / float64(max(generated.bodies[r], 1))
			if gs < rs/2 {
				t.Errorf("%s: %.0f%% of the generator's events with a body hold escaped keys, %.0f%% of kube-apiserver's", r, gs*100, rs*100)
			}
		}
	}
	if shared < 5 || lists < 3 {
		t.Fatalf("only %d resources, %d keyed lists in both the generator and the recording", shared, lists)
	}
	t.Logf("%d resources (by kind of body), %d member paths, %d keyed FieldsV1 lists compared; escaped keys in %d of %d real events with a body",
		shared, paths, lists, sum(real.escaped), sum(real.bodies))
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
