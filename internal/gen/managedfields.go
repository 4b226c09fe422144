// metadata.managedFields as kube-apiserver writes it: the FieldsV1 shape with escaped keys
// is what the redaction fast path has to handle.

package gen

import (
	"encoding/json"
	"time"
)

// managedFields is one entry of metadata.managedFields as kube-apiserver stores it: the
// fields manager owns, in the FieldsV1 form (see fieldsOf). sub is the subresource the
// manager wrote through ("status"), or "".
func managedFields(s *src, manager, apiVersion, sub string, owned obj) obj {
	e := obj{
		"manager": manager, "operation": "Update", "apiVersion": apiVersion,
		"time": s.ts(-time.Duration(s.intn(3600)) * time.Second), "fieldsType": "FieldsV1", "fieldsV1": fieldsOf(owned, false),
	}
	if sub != "" {
		e["subresource"] = sub
	}
	return e
}

// mergeKeys are the fields that identify an item of a list by the list's name (the
// patchMergeKey / listMapKeys of the Kubernetes types the generator writes). Lists not
// named here are atomic: FieldsV1 records the list, not its items.
var mergeKeys = map[string][]string{
	"containers": {"name"}, "initContainers": {"name"}, "env": {"name"}, "volumes": {"name"},
	"volumeMounts": {"mountPath"}, "conditions": {"type"}, "addresses": {"type"},
	"ownerReferences": {"uid"}, "podIPs": {"ip"},
	// A container's ports and a Service's: the keys an item has of these.
	"ports": {"containerPort", "port", "protocol"},
}

// granular are the map-valued fields whose entries are owned one by one, so that FieldsV1
// also records the map itself ("."): labels, annotations, resource lists.
var granular = map[string]bool{"labels": true, "annotations": true, "matchLabels": true, "limits": true,
	"requests": true, "data": true, "capacity": true, "allocatable": true, "ownerReferences": true}

// fieldsOf returns the FieldsV1 set of the object o, as structured-merge-diff writes it
// (sigs.k8s.io/structured-merge-diff fieldpath): "f:<name>" per field, "k:<json>" per list
// item keyed by its merge keys (their JSON, fields sorted: k:{"containerPort":8080,
// "protocol":"TCP"}), "v:<json>" per item of a set of scalars, and "." for a list item or
// granular map itself. Keys like k:{...} hold quotes, so a real log writes them escaped
// ("k:{\"name\":\"app\"}"): the shape the fast path must take.
func fieldsOf(o obj, item bool) obj {
	f := obj{}
	if item {
		f["."] = obj{}
	}
	for k, v := range o {
		switch v := v.(type) {
		case obj:
			sub := fieldsOf(v, granular[k])
			f["f:"+k] = sub
		case []any:
			f["f:"+k] = listFields(k, v)
		default:
			f["f:"+k] = obj{}
		}
	}
	return f
}

func listFields(name string, items []any) obj {
	keys, keyed := mergeKeys[name]
	if !keyed {
		if name == "finalizers" {
			f := obj{".": obj{}}
			for _, it := range items {
				b, _ := json.Marshal(it)
				f["v:"+string(b)] = obj{}
			}
			return f
		}
		return obj{} // atomic
	}
	f := obj{".": obj{}}
	for _, it := range items {
		m, ok := it.(obj)
		if !ok {
			continue
		}
		k := obj{}
		for _, n := range keys {
			if v, ok := m[n]; ok {
				k[n] = v
			}
		}
		b, _ := json.Marshal(k)
		f["k:"+string(b)] = fieldsOf(m, true)
	}
	return f
}

// only returns the members names of o (a shallow copy): the part of an object one manager
// owns.
func only(o obj, names ...string) obj {
	out := obj{}
	for _, n := range names {
		if v, ok := o[n]; ok {
			out[n] = v
		}
	}
	return out
}
