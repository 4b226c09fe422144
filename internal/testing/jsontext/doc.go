// Package jsontext is a test-only module: it measures github.com/go-json-experiment/json's
// jsontext against internal/jsonbytes' ScanObject doing the same work on a line (validate
// it, reject repeated names and invalid UTF-8, find the offsets of the top-level members),
// over the generator's events and the recorded kube-apiserver corpus, and checks that both
// find the same members. It is a module of its own so that the agent's module does not
// carry a JSON library it does not use (the measurement is why: docs/performance.md);
// `make test` runs its test.
package jsontext
