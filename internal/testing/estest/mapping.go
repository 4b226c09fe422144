package estest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// mapping is an index's field mappings as Elasticsearch keeps them, by dotted path:
// what a document must agree with. It follows the document parser's rules as far as an
// audit shipper can meet them: dots in keys expand into objects; a field is mapped by
// the first value it sees (strings by dynamic_templates, then date detection, else
// text; whole numbers long; others float; booleans boolean); a later value that cannot
// be parsed as the mapped type, an object where a value was mapped or a value where an
// object was, rejects the whole document with 400 (and adds none of its fields); new
// fields beyond index.mapping.total_fields.limit (1000) reject it too. Under a
// `flattened` field (nested deeper than its depth_limit is rejected), a `flat_object`
// field or an object with `enabled: false`, anything goes.
type mapping struct {
	fields map[string]*fieldMapping
	// stringType is the type the first matching dynamic template gives new strings.
	stringType string
	// flatObject: the server accepts `flat_object` (OpenSearch 2.7+); flattened: it
	// accepts `flattened` (Elasticsearch).
	flatObject, flattened bool
}

type fieldMapping struct {
	typ        string // object, disabled, flattened, flat_object, long, integer, float, double, boolean, date, ip, keyword, text, ...
	depthLimit int    // flattened
	ignoreMal  bool
}

// totalFieldsLimit is index.mapping.total_fields.limit's default.
const totalFieldsLimit = 1000

// mappingError is a document the mapping rejects: status 400 and Elasticsearch's type.
type mappingError struct {
	typ, reason string
}

func (e *mappingError) Error() string { return e.reason }

// newMapping compiles a template's "mappings" (nil for none). It returns an error for a
// field type the distribution does not have, as the put-template call does.
func newMapping(raw json.RawMessage, flavor Flavor) (*mapping, error) {
	m := &mapping{fields: map[string]*fieldMapping{}, flatObject: flavor.hasFlatObject(), flattened: flavor.hasFlattened()}
	if len(raw) == 0 || string(raw) == "null" {
		return m, nil
	}
	var mp struct {
		Properties       map[string]json.RawMessage `json:"properties"`
		DynamicTemplates []map[string]struct {
			MatchMappingType string         `json:"match_mapping_type"`
			Mapping          map[string]any `json:"mapping"`
		} `json:"dynamic_templates"`
	}
	if err := json.Unmarshal(raw, &mp); err != nil {
		return nil, &mappingError{"mapper_parsing_exception", "Failed to parse mapping: " + err.Error()}
	}
	for _, dt := range mp.DynamicTemplates {
		for _, t := range dt {
			if t.MatchMappingType == "string" && m.stringType == "" {
				m.stringType, _ = t.Mapping["type"].(string)
			}
		}
	}
	if err := m.addProperties("", mp.Properties); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *mapping) addProperties(prefix string, props map[string]json.RawMessage) error {
	for name, raw := range props {
		var f struct {
			Type            string                     `json:"type"`
			Enabled         *bool                      `json:"enabled"`
			Properties      map[string]json.RawMessage `json:"properties"`
			DepthLimit      *int                       `json:"depth_limit"`
			IgnoreMalformed bool                       `json:"ignore_malformed"`
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			return &mappingError{"mapper_parsing_exception", "Failed to parse mapping: " + err.Error()}
		}
		path := prefix + name
		fm := &fieldMapping{typ: f.Type, ignoreMal: f.IgnoreMalformed}
		switch {
		case f.Type == "" || f.Type == "object":
			fm.typ = "object"
			if f.Enabled != nil && !*f.Enabled {
				fm.typ = "disabled"
			}
		case f.Type == "flattened" && !m.flattened, f.Type == "flat_object" && !m.flatObject:
			return &mappingError{"mapper_parsing_exception", fmt.Sprintf("No handler for type [%s] declared on field [%s]", f.Type, path)}
		case f.Type == "flattened":
			fm.depthLimit = 20
			if f.DepthLimit != nil {
				fm.depthLimit = *f.DepthLimit
			}
		}
		m.fields[path] = fm
		if fm.typ == "object" {
			if err := m.addProperties(path+".", f.Properties); err != nil {
				return err
			}
		}
	}
	return nil
}

// index checks doc (a JSON object) against the mapping and, when it fits, adds the
// fields it maps dynamically. id is for the error text, as Elasticsearch quotes it.
func (m *mapping) index(doc json.RawMessage, id string) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return &mappingError{"mapper_parsing_exception", "failed to parse: " + err.Error()}
	}
	p := parse{m: m, id: id, added: map[string]*fieldMapping{}}
	if err := p.object("", v); err != nil {
		return err
	}
	if len(p.added) > 0 && len(m.fields)+len(p.added) > totalFieldsLimit {
		return &mappingError{"illegal_argument_exception",
			fmt.Sprintf("Limit of total fields [%d] has been exceeded while adding new fields [%d]", totalFieldsLimit, len(p.added))}
	}
	for k, f := range p.added {
		m.fields[k] = f
	}
	return nil
}

// parse is one document's walk; added holds the fields it would map.
type parse struct {
	m     *mapping
	id    string
	added map[string]*fieldMapping
}

func (p *parse) lookup(path string) *fieldMapping {
	if f := p.m.fields[path]; f != nil {
		return f
	}
	return p.added[path]
}

func (p *parse) object(prefix string, obj map[string]any) error {
	for k, v := range obj {
		if strings.TrimSpace(k) == "" {
			return &mappingError{"mapper_parsing_exception", "failed to parse: field name cannot be an empty string"}
		}
		parts := strings.Split(k, ".")
		for _, s := range parts {
			if s == "" {
				return &mappingError{"mapper_parsing_exception",
					fmt.Sprintf("failed to parse: field name cannot contain only whitespace: ['%s']", k)}
			}
		}
		// a.b.c: a and a.b are objects, c the field.
		path, open := prefix, true
		for _, s := range parts[:len(parts)-1] {
			path += s
			if err := p.needObject(path); err != nil {
				return err
			}
			if p.lookup(path).typ != "object" {
				open = false // flattened, flat_object or disabled take anything
				break
			}
			path += "."
		}
		if !open {
			continue
		}
		if err := p.value(path+parts[len(parts)-1], v); err != nil {
			return err
		}
	}
	return nil
}

// needObject maps path as an object if it is unmapped, and fails if it holds a value.
func (p *parse) needObject(path string) error {
	f := p.lookup(path)
	if f == nil {
		return p.add(path, &fieldMapping{typ: "object"})
	}
	switch f.typ {
	case "object", "disabled", "flattened", "flat_object":
		return nil
	}
	return &mappingError{"mapper_parsing_exception",
		fmt.Sprintf("Could not dynamically add mapping for field [%s]. Existing mapping for [%s] must be of type object but found [%s].", path, path, f.typ)}
}

func (p *parse) value(path string, v any) error {
	if v == nil {
		return nil
	}
	if arr, ok := v.([]any); ok {
		for _, el := range arr {
			if err := p.value(path, el); err != nil {
				return err
			}
		}
		return nil
	}
	f := p.lookup(path)
	if f == nil {
		f = p.dynamic(v)
		if err := p.add(path, f); err != nil {
			return err
		}
	}
	switch f.typ {
	case "disabled", "flat_object":
		return nil
	case "flattened":
		if d := depth(v); d > f.depthLimit {
			return &mappingError{"document_parsing_exception",
				fmt.Sprintf("The provided [flattened] field [%s] exceeds the maximum depth limit of [%d].", path, f.depthLimit)}
		}
		return nil
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return &mappingError{"mapper_parsing_exception",
				fmt.Sprintf("object mapping for [%s] tried to parse field [%s] as object, but found a concrete value", path, path[strings.LastIndexByte(path, '.')+1:])}
		}
		return p.object(path+".", obj)
	}
	if _, isObj := v.(map[string]any); isObj {
		return p.parseErr(path, f.typ, "")
	}
	s := fmt.Sprint(v)
	switch f.typ {
	case "long", "integer", "short", "byte":
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return p.parseErr(path, f.typ, s)
		}
	case "float", "double", "half_float", "scaled_float":
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return p.parseErr(path, f.typ, s)
		}
	case "boolean":
		if s != "true" && s != "false" && s != "" {
			return p.parseErr(path, f.typ, s)
		}
	case "date":
		if _, isNum := v.(json.Number); !isNum && !dateLike.MatchString(s) {
			return p.parseErr(path, f.typ, s)
		}
	case "ip":
		if !f.ignoreMal && !ipLike.MatchString(s) {
			return p.parseErr(path, f.typ, s)
		}
	}
	return nil
}

func (p *parse) parseErr(path, typ, preview string) error {
	reason := fmt.Sprintf("failed to parse field [%s] of type [%s] in document with id '%s'.", path, typ, p.id)
	if preview != "" {
		reason += " Preview of field's value: '" + preview + "'"
	}
	return &mappingError{"mapper_parsing_exception", reason}
}

// mappingDepthLimit is index.mapping.depth.limit's default: how deep object mappings
// may nest (a root field is at depth 1).
const mappingDepthLimit = 20

// add maps path dynamically, unless an object would nest deeper than the limit.
func (p *parse) add(path string, f *fieldMapping) error {
	if f.typ == "object" && strings.Count(path, ".")+1 >= mappingDepthLimit {
		return &mappingError{"mapper_parsing_exception",
			fmt.Sprintf("Limit of mapping depth [%d] has been exceeded due to object field [%s]", mappingDepthLimit, path)}
	}
	p.added[path] = f
	return nil
}

// dynamic maps a first value as dynamic mapping does by default.
func (p *parse) dynamic(v any) *fieldMapping {
	switch t := v.(type) {
	case map[string]any:
		return &fieldMapping{typ: "object"}
	case bool:
		return &fieldMapping{typ: "boolean"}
	case json.Number:
		if _, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return &fieldMapping{typ: "long"}
		}
		return &fieldMapping{typ: "float"}
	case string:
		if p.m.stringType != "" {
			return &fieldMapping{typ: p.m.stringType}
		}
		if dateLike.MatchString(t) {
			return &fieldMapping{typ: "date"}
		}
	}
	return &fieldMapping{typ: "text"}
}

// dateLike is what date detection (strict_date_optional_time) takes for a date.
var dateLike = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$`)

var ipLike = regexp.MustCompile(`^[0-9a-fA-F:.]+$`)

// depth is how deep objects nest in v (a value alone is 0, {"a":1} is 1).
func depth(v any) int {
	switch t := v.(type) {
	case map[string]any:
		d := 0
		for _, x := range t {
			d = max(d, depth(x))
		}
		return d + 1
	case []any:
		d := 0
		for _, x := range t {
			d = max(d, depth(x))
		}
		return d
	}
	return 0
}
