package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// caseDuplicates returns, as "KEY: text" lines, the keys of one mapping in the YAML data
// that differ only in case (path: and Path:). Keys match whatever their case, so viper
// keeps one of the two without a word and the other is silently lost; the YAML parser
// itself refuses only exact repeats. Data that does not parse gives none: viper reports
// it.
func caseDuplicates(data []byte) []string {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil
	}
	var out []string
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		case yaml.MappingNode:
			seen := map[string]*yaml.Node{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				lower := strings.ToLower(k.Value)
				key := lower
				if path != "" {
					key = path + "." + lower
				}
				if first, ok := seen[lower]; ok && k.Value != "<<" {
					out = append(out, fmt.Sprintf("%s: given twice, as %q (line %d) and %q (line %d): keys match whatever their case",
						key, first.Value, first.Line, k.Value, k.Line))
					continue
				}
				seen[lower] = k
				walk(n.Content[i+1], key)
			}
		}
	}
	walk(&doc, "")
	return out
}
