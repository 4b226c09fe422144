// Package deploy holds no code: it is the home of the container image, the kustomize base
// for control-plane nodes and the deployment examples, and of the tests that render them
// (kubectl kustomize, or a pinned kustomize through `go run`) and check the properties an
// operator relies on: scheduling, read-only audit mount, checkpoints on the host, probes,
// limits, hardening, no API permissions, config and credentials, and a config the agent
// accepts.
package deploy
