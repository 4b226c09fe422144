// The byte gates run before any decoding: most events name no secret-bearing resource and
// hold none of the markers, so the presets cost them a few byte searches.

package redact

import (
	"bytes"

	"github.com/auditship/auditship/pipeline"
)

var (
	markLastApplied = []byte("last-applied-configuration")
	markSecretKind  = []byte(`"Secret`)
	// markTokenKind is TokenReview and TokenRequest, kinds the preset treats by kind.
	markTokenKind = []byte(`"TokenRe`)
	markEscape    = []byte(`\u`)

	// managedFieldsKey: the managed-fields preset finds nothing in an event without the
	// key's token or an escape that could spell it (pipeline.KeyMarkers).
	managedFieldsKey = pipeline.KeyMarkers("managedFields")
)

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
