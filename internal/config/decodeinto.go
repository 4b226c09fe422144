package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
)

// decodeInto fills target from raw, reporting unknown keys and bad values under key, then
// runs target's Validate. It reports whether target is usable.
func decodeInto(p *problems, key string, raw map[string]any, target any) bool {
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			unitsHook(),
			mapstructure.StringToSliceHookFunc(","),
		),
		Metadata:         &md,
		Result:           target,
		WeaklyTypedInput: true,
		TagName:          "mapstructure",
	})
	if err != nil {
		p.add(orTop(key), err)
		return false
	}
	before := len(p.list)
	if err := dec.Decode(raw); err != nil {
		for _, e := range flattenErrors(err) {
			var de *mapstructure.DecodeError
			switch {
			case errors.As(e, &de) && credentialKey(de.Name()):
				// The decoder's message quotes the value, which is a credential.
				p.add(join(key, de.Name()), errors.New("invalid value (not shown: the key holds a credential); want a string"))
			case errors.As(e, &de):
				p.add(join(key, de.Name()), de.Unwrap())
			default:
				p.add(orTop(key), e)
			}
		}
	}
	sort.Strings(md.Unused)
	for _, u := range md.Unused {
		p.add(join(key, u), errors.New("unknown key"))
	}
	if len(p.list) > before {
		return false
	}
	if val, ok := target.(Validator); ok {
		if err := val.Validate(); err != nil {
			p.add(orTop(key), err)
			return false
		}
	}
	if w, ok := target.(Warner); ok {
		for _, line := range w.Warnings() {
			p.warnings = append(p.warnings, RedactURLs(fmt.Sprintf("%s: %s: %s", p.file, orTop(key), line)))
		}
	}
	return true
}

// credentialKey reports whether a config key holds a credential's value itself
// (password, api_key, bearer_token, a secret or token), not where to find one (_file,
// _env).
func credentialKey(name string) bool {
	name = strings.ToLower(name[strings.LastIndexAny(name, ".[")+1:])
	if strings.HasSuffix(name, "_file") || strings.HasSuffix(name, "_env") {
		return false
	}
	for _, w := range []string{"password", "api_key", "token", "secret"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func orTop(key string) string {
	if key == "" {
		return "(top level)"
	}
	return key
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func flattenErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flattenErrors(e)...)
		}
		return out
	}
	return []error{err}
}
