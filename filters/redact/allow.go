package redact

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultAllowedAnnotations are the annotation keys whose values the kubernetes-secrets
// preset keeps on a Secret (and TokenReview, TokenRequest): names of other objects, set
// by Kubernetes controllers and common tools, never a value of the Secret. Every other
// annotation keeps its key and loses its value: tools write whole manifests (kapp,
// kubectl last-applied, rio) or command lines (kubernetes.io/change-cause) into theirs.
var DefaultAllowedAnnotations = []string{
	"kubernetes.io/service-account.name", // token Secrets: the ServiceAccount they belong to
	"kubernetes.io/service-account.uid",
	"meta.helm.sh/release-name", // Helm: the release that owns the object
	"meta.helm.sh/release-namespace",
	"cert-manager.io/certificate-name", // cert-manager: the Certificate and issuer of a TLS Secret
	"cert-manager.io/issuer-name",
	"cert-manager.io/issuer-kind",
	"cert-manager.io/issuer-group",
}

// DefaultAllowedEventAnnotations are the event annotation keys whose values the preset
// keeps on a secret-bearing event: the API server's own (authorization decision and
// reason, Pod Security, whether a mutating webhook mutated, whether one failed open,
// latency, authentication notes) and those auditship adds. Webhooks and admission
// policies can write any value into the others. patch.webhook.admission.k8s.io/ holds a
// patch with its values: it is kept to the patched object's schema, never allow-listed.
var DefaultAllowedEventAnnotations = []string{
	"authorization.k8s.io/decision",
	"authorization.k8s.io/reason",
	"pod-security.kubernetes.io/*",
	"mutation.webhook.admission.k8s.io/*",
	"failed-open.mutation.webhook.admission.k8s.io/*",
	"apiserver.latency.k8s.io/*",
	"authentication.k8s.io/*",
	"auditship.io/*",
}

// allowLists are the preset's annotation allow-lists.
type allowLists struct {
	object, event keySet
}

// keySet is a set of keys and of key prefixes (written with a trailing "*").
type keySet struct {
	exact    map[string]bool
	prefixes []string
}

func newKeySet(defaults, extra []string) (keySet, error) {
	s := keySet{exact: map[string]bool{}}
	var errs []error
	for i, k := range append(append([]string(nil), defaults...), extra...) {
		switch {
		case strings.TrimSpace(k) == "" || k == "*":
			errs = append(errs, fmt.Errorf("[%d]: %q is not an annotation key or key prefix", i-len(defaults), k))
		case strings.HasSuffix(k, "*"):
			s.prefixes = append(s.prefixes, strings.TrimSuffix(k, "*"))
		default:
			s.exact[k] = true
		}
	}
	return s, errors.Join(errs...)
}

func (s keySet) has(k string) bool {
	if s.exact[k] {
		return true
	}
	for _, p := range s.prefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}
