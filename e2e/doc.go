// Package e2e holds auditship's end-to-end tests against a real kube-apiserver (see
// internal/testing/kube): the agent binary follows what the API server itself writes,
// through rotation, SIGKILLs and restarts, into real outputs. The package has no code
// besides its tests; `make e2e` runs them alone.
package e2e
