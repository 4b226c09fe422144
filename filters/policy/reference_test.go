package policy

import "github.com/auditship/auditship/internal/jsonbytes"

// Reading a decoded event: what the filter's reads from the bytes are checked against.

// attributesOf is attributesFrom over a decoded event.
func attributesOf(f map[string]any, a *Attributes) {
	attributesFrom(mapReader(f), a)
}

type mapReader map[string]any

func (m mapReader) Path(path ...string) (any, bool) {
	return jsonbytes.Walk(map[string]any(m), path)
}

func (m mapReader) Strings(key string, names []string, out []string) bool {
	obj, isObj := m[key].(map[string]any)
	for i, n := range names {
		out[i], _ = obj[n].(string)
	}
	return isObj
}

// eventLevel is the level a decoded event was written at (levelFrom over a map).
func eventLevel(f map[string]any) (Level, bool) {
	return levelFrom(func(k string) any { return f[k] })
}
