// Leak kind 8: credentials in the request URI's query string.

package leakcorpus

import (
	"strings"
)

// queryShapes adds shapes of leak kind 8: credentials in the request URI's query string
// (any event, not only secret-bearing ones): a client may send its bearer token as access_token (kube-apiserver's old
// websocket path) or token, an OAuth id_token; kube-apiserver writes the URI as sent.
// The canary is planted as is (base64's "+/=" are legal in a raw query), so the
// check finds it.
// kube-audit-rest lines have no URI (the decoder rebuilds a path from the resource
// coordinates, without a query), so every shape here is an audit Event.
func queryShapes(t *table) {
	uriShape := func(name, keep, resource, query string, req any) {
		t.add(8, name, keep, func(c *Canaries) any {
			ev := Event("get", resource, "", req, nil)
			ev["requestURI"] = ev["requestURI"].(string) + strings.ReplaceAll(query, "{v}", c.V())
			return ev
		})
	}
	uriShape("access_token in the query of a pods list", "pods?access_token=", "pods", "?access_token={v}", nil)
	uriShape("token among kube-apiserver's parameters", "labelSelector=app%3Dweb", "pods", "?labelSelector=app%3Dweb&token={v}&limit=500", nil)
	uriShape("id_token in upper case", "?ID_TOKEN=", "configmaps", "?ID_TOKEN={v}", nil)
	uriShape("percent-encoded access_token name", "%61ccess%5Ftoken=", "pods", "?watch=true&%61ccess%5Ftoken={v}", nil)
	uriShape("percent-encoded token name with the value percent-encoded", "?%74oken=", "pods", "?%74oken=%43%41%4E%41%52%59-x&token={v}", nil)
	uriShape("access_token on an exec request, command kept", "command=sh", "pods/p/exec", "?command=sh&command=-c&access_token={v}&stdin=true", nil)
	uriShape("access_token after a semicolon", "", "pods", "?limit=1;access_token={v}", nil)
	uriShape("id_token in a second query", "", "pods", "?watch=1?id_token={v}", nil)
	t.add(8, "token in the query of a secrets request", "?token=", func(c *Canaries) any {
		ev := Event("get", "secrets", "s1", nil, Secret(c, nil))
		ev["requestURI"] = ev["requestURI"].(string) + "?token=" + c.V()
		return ev
	})
}
