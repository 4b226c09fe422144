package redact

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/auditship/auditship/pipeline"
)

// Credentials in a request URI's query string. kube-apiserver writes the request URI
// as the client sent it (audit Event requestURI: req.URL.RequestURI(), raw query
// included), so a bearer token passed as a query parameter — historically
// `access_token` for websocket clients, `token` for proxies and tools, OAuth's
// `id_token`/`refresh_token`/`client_secret`, a presigned URL's signature — is in the
// log. The preset replaces the value of such a parameter and keeps every other byte.

// credentialParams are query parameter names (normalised by normParam) that are
// credentials whatever else is in them.
var credentialParams = map[string]bool{
	"key": true, "pwd": true, "pass": true, "auth": true, "authorization": true,
	"bearer": true, "jwt": true, "sig": true,
}

// credentialParts are substrings of a normalised parameter name that make it a
// credential (access_token, x-amz-security-token, client_secret, api-key, password,
// X-Amz-Signature, X-Amz-Credential). None of kube-apiserver's own query parameters
// (labelSelector, fieldSelector, resourceVersion, timeoutSeconds, watch, limit,
// continue, dryRun, fieldManager, propagationPolicy, command, container, ...) holds one.
var credentialParts = [...]string{"token", "secret", "passw", "apikey", "credential", "signature", "privatekey"}

// normParam returns a query parameter name as compared: percent-decoded (as
// url.ParseQuery decodes it, "+" a space), lower-cased, without "-", "_", "." and spaces.
// A name that does not decode is compared as written (fail-closed: some reader may still
// take it for the parameter).
func normParam(name string) string {
	if dec, err := url.QueryUnescape(name); err == nil {
		name = dec
	}
	name = strings.ToLower(name)
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', '.', ' ', '[', ']':
			return -1
		}
		return r
	}, name)
}

// isCredentialParam reports whether a query parameter named name carries a credential.
func isCredentialParam(name string) bool {
	n := normParam(name)
	if n == "" {
		return false
	}
	if credentialParams[n] {
		return true
	}
	for _, p := range credentialParts {
		if strings.Contains(n, p) {
			return true
		}
	}
	return false
}

// querySeparators end a query parameter: "&" (url.ParseQuery), ";" (older servers and
// some proxies), "#" (a fragment, where OAuth's implicit flow puts access_token) and a
// second "?" (a client appending a query to a URI that had one). Splitting on more than
// the API server does can only find more parameters.
const querySeparators = "&;#?"

// redactQuery returns uri with the value of every credential query parameter replaced
// by what repl returns for it (given the value percent-decoded), and how many it
// replaced. The path, the parameter names, the separators and every other parameter are
// kept byte for byte; so is a credential parameter without a value ("?token", "?token=").
func redactQuery(uri string, repl func(value string) string) (string, int) {
	start := strings.IndexAny(uri, "?#;")
	if start < 0 {
		return uri, 0
	}
	var b strings.Builder
	n := 0
	last := 0 // uri[:last] is written to b (only once something changes)
	i := start + 1
	for i <= len(uri) {
		end := strings.IndexAny(uri[i:], querySeparators)
		if end < 0 {
			end = len(uri)
		} else {
			end += i
		}
		piece := uri[i:end]
		if eq := strings.IndexByte(piece, '='); eq >= 0 && eq+1 < len(piece) && isCredentialParam(piece[:eq]) {
			v := piece[eq+1:]
			if dec, err := url.QueryUnescape(v); err == nil {
				v = dec
			}
			if b.Len() == 0 {
				b.Grow(len(uri))
			}
			b.WriteString(uri[last : i+eq+1])
			b.WriteString(repl(v))
			last = end
			n++
		}
		i = end + 1
	}
	if n == 0 {
		return uri, 0
	}
	b.WriteString(uri[last:])
	return b.String(), n
}

// maskedQueryValue is Placeholder as a query value ("[" and "]" are not allowed
// unescaped in a query, RFC 3986 section 3.4).
var maskedQueryValue = url.QueryEscape(Placeholder)

// uriQueryMarks are the bytes of a requestURI's JSON text without which it has no query
// (or fragment, or ";" parameters): "\\" since an escape may spell any of them.
const uriQueryMarks = "?#;\\"

// redactURI treats the event's requestURI (every event, not only secret-bearing ones):
// the values of credential query parameters are replaced under the action (mask: the
// placeholder percent-encoded; hash: the keyed digest of the percent-decoded value;
// remove: the value is emptied, the name kept, so the reader still sees a credential was
// sent). Only that member changes; the event's other members keep their bytes.
func (a *action) redactURI(ev *pipeline.Event) {
	if raw, ok := ev.RawMember("requestURI"); ok && !bytes.ContainsAny(raw, uriQueryMarks) {
		return
	}
	uri, ok := ev.Field("requestURI").(string)
	if !ok {
		return
	}
	out, n := redactQuery(uri, func(v string) string {
		switch a.kind {
		case actRemove:
			return ""
		case actHash:
			h, _ := a.hash(v) // a string never fails to hash
			return h
		}
		return maskedQueryValue
	})
	if n == 0 {
		return
	}
	ev.SetField("requestURI", out)
	ev.Redacted += n
}
