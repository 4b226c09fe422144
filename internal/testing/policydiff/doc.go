// Package policydiff is a test-only module: it checks auditship's audit_policy filter
// against k8s.io/apiserver's own RequestInfoFactory and audit policy evaluator, on
// generated requests and policies. It is a module of its own so that the agent's module
// does not carry the Kubernetes libraries; `make test` runs it.
package policydiff
