package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
)

// checkShared reports outputs that would create one shared resource differently (see
// SharedResourcer): each would overwrite the other's when it starts, silently.
func checkShared(p *problems, outs []OutputComponent) {
	type owner struct{ key, what string }
	first := map[string]owner{}
	for _, o := range outs {
		r, ok := o.Config.(SharedResourcer)
		if !ok {
			continue
		}
		res := r.SharedResources()
		for _, k := range sortedKeys(res) {
			prev, seen := first[k]
			switch {
			case !seen:
				first[k] = owner{o.Key, res[k]}
			case prev.what != res[k]:
				p.add(o.Key, fmt.Errorf("%s is also created by %s, differently (%s there, %s here): each would overwrite the other's when it starts; give one of them its own name", k, prev.key, prev.what, res[k]))
			}
		}
	}
}

// section is one named entry of `inputs` or `outputs`, split into its type and the rest.
type section struct {
	name, key, typ string
	rest           map[string]any
}

// sections returns the well-formed entries of tree[kind] in name order, reporting the
// others; at least one is required.
func sections(p *problems, tree map[string]any, kind string) []section {
	m, _ := tree[kind].(map[string]any)
	if len(m) == 0 {
		p.add(kind, fmt.Errorf("at least one %s is required", strings.TrimSuffix(kind, "s")))
	}
	var out []section
	for _, name := range sortedKeys(m) {
		key := kind + "." + name
		sec, ok := m[name].(map[string]any)
		if !ok {
			p.add(key, errors.New("must be a mapping"))
			continue
		}
		if typ, rest, ok := splitType(p, key, sec); ok {
			out = append(out, section{name: name, key: key, typ: typ, rest: rest})
		}
	}
	return out
}

// envKeys adds the section's keys that are set only in the environment
// (AUDITSHIP_OUTPUTS_SIEM_API_KEY_FILE=...): viper overrides only keys the file has, but
// a secret is exactly what an operator keeps out of the file. The keys of a block squashed
// into the section (delivery.Delivery's batch, retry and dead_letter_path keys) are
// top-level keys too; those of a nested block (tls, sasl, aws_sigv4) are named by its
// path (AUDITSHIP_OUTPUTS_KAFKA_SASL_PASSWORD).
func envKeys(sec section, target any) {
	prefix := "AUDITSHIP_" + strings.ToUpper(strings.ReplaceAll(sec.key, ".", "_")) + "_"
	envKeysOf(sec.rest, prefix, reflect.TypeOf(target))
}

// envKeysOf adds to rest the keys of struct type t found in the environment under prefix.
func envKeysOf(rest map[string]any, prefix string, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("mapstructure"), ",")
		key := tag[0]
		switch {
		case key == "" && slices.Contains(tag[1:], "squash"):
			envKeysOf(rest, prefix, f.Type)
		case key == "" || key == "-":
		case isBlock(f.Type):
			sub, inFile := rest[key].(map[string]any)
			if _, set := rest[key]; set && !inFile {
				continue // not a mapping: decoding reports it
			}
			if !inFile {
				sub = map[string]any{}
			}
			envKeysOf(sub, prefix+strings.ToUpper(key)+"_", f.Type)
			if !inFile && len(sub) > 0 {
				rest[key] = sub
			}
		default:
			if _, inFile := rest[key]; inFile {
				continue // viper already applied any override
			}
			if v, ok := os.LookupEnv(prefix + strings.ToUpper(key)); ok {
				rest[key] = v
			}
		}
	}
}

// isBlock reports whether t is a nested block of keys (a struct with mapstructure tags),
// rather than a value decoded from one string (a duration, a size, a secret).
func isBlock(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("mapstructure") != "" {
			return true
		}
	}
	return false
}

func factoryFor[F any](p *problems, sec section, kind string, facs map[string]F) (F, bool) {
	fac, ok := facs[sec.typ]
	if !ok {
		p.add(sec.key+".type", fmt.Errorf("unknown %s type %q (known: %s)", kind, sec.typ, strings.Join(sortedKeys(facs), ", ")))
	}
	return fac, ok
}

func decodeFilters(p *problems, key string, raw any, f Factories) []Component {
	if raw == nil {
		return nil
	}
	list, ok := raw.([]any)
	if !ok {
		p.add(key, errors.New("must be a list of filters"))
		return nil
	}
	var out []Component
	for i, item := range list {
		fkey := fmt.Sprintf("%s[%d]", key, i)
		sec, ok := item.(map[string]any)
		if !ok {
			p.add(fkey, errors.New("must be a mapping with a type"))
			continue
		}
		typ, rest, ok := splitType(p, fkey, sec)
		if !ok {
			continue
		}
		name := fmt.Sprintf("%s-%d", typ, i)
		if n, ok := rest["name"].(string); ok && n != "" {
			name = n
		}
		delete(rest, "name")
		fac, ok := f.Filters[typ]
		if !ok {
			p.add(fkey+".type", fmt.Errorf("unknown filter type %q (known: %s)", typ, strings.Join(sortedKeys(f.Filters), ", ")))
			continue
		}
		c := fac.NewConfig()
		if decodeInto(p, fkey, rest, c) {
			out = append(out, Component{Name: name, Type: typ, Key: fkey, Config: c})
		}
	}
	return out
}

func splitType(p *problems, key string, sec map[string]any) (string, map[string]any, bool) {
	rest := make(map[string]any, len(sec))
	for k, v := range sec {
		rest[k] = v
	}
	typ, _ := rest["type"].(string)
	delete(rest, "type")
	if typ == "" {
		p.add(key+".type", errors.New("is required"))
		return "", nil, false
	}
	return typ, rest, true
}
