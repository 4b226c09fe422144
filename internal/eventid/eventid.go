// Package eventid derives the id an output gives an event at its destination (the
// Elasticsearch _id, the Kafka record key) from the event's bytes as sent.
package eventid

import (
	"crypto/sha256"
	"encoding/hex"
)

// Of returns the SHA-256 of doc in hex (64 digits). The same event replayed through the
// same configuration gets the same id, so a replay is recognised (Elasticsearch answers
// 409; Kafka lands it in the same partition, after the first); two events that differ in
// any byte get different ids, even when a client reused an audit ID (the Audit-ID request
// header is client-settable). The whole digest is kept: an id an attacker could make
// collide by trying 2^64 variants of their own requests would let one request hide
// another.
func Of(doc []byte) [64]byte {
	sum := sha256.Sum256(doc)
	var out [64]byte
	hex.Encode(out[:], sum[:])
	return out
}
