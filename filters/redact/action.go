package redact

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/auditship/auditship/internal/secretfile"
	"github.com/auditship/auditship/pipeline"
)

// Placeholder replaces a masked value.
const Placeholder = "[REDACTED]"

// hashPrefix marks a hashed value, so a reader knows it is a keyed digest, not the value.
const hashPrefix = "hmac-sha256:"

// minKeyBytes keeps operators from hashing with a key short enough to brute-force.
const minKeyBytes = 16

type actionKind uint8

const (
	actMask actionKind = iota
	actRemove
	actHash
)

func parseAction(s string) (actionKind, error) {
	switch s {
	case "", "mask":
		return actMask, nil
	case "remove":
		return actRemove, nil
	case "hash":
		return actHash, nil
	}
	return 0, fmt.Errorf("action: unknown action %q (remove, mask, hash)", s)
}

type action struct {
	kind actionKind
	key  []byte
}

// loadKey reads the HMAC key from a file or the environment; it never comes from the
// config text, which is often checked in or printed. warning is about the file's mode
// (secretfile.ReadCredential).
func loadKey(file, env string) (key []byte, warning string, err error) {
	switch {
	case file != "" && env != "":
		return nil, "", errors.New("hash_key_file and hash_key_env are exclusive")
	case file != "":
		b, w, err := secretfile.ReadCredential(file)
		if err != nil {
			return nil, "", fmt.Errorf("hash_key_file: %w", err)
		}
		if w != "" {
			warning = "hash_key_file: " + w
		}
		key = []byte(strings.TrimRight(string(b), "\r\n"))
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok {
			return nil, "", fmt.Errorf("hash_key_env: environment variable %s is not set", env)
		}
		key = []byte(v)
	default:
		return nil, "", errors.New("action hash needs hash_key_file or hash_key_env")
	}
	if len(key) < minKeyBytes {
		return nil, "", fmt.Errorf("hash key must be at least %d bytes, got %d", minKeyBytes, len(key))
	}
	return key, warning, nil
}

// pass is one event's redaction: it marks the event changed before the first change and
// counts what it redacted.
type pass struct {
	act   *action
	allow *allowLists
	ev    *pipeline.Event
	n     int // fields redacted
	// bodies counts request/response bodies removed whole (not understood): apart from n,
	// so the fields count means what it says.
	bodies int
	err    error
	// targets are the JSON Pointers copy and move operations of a secret-bearing patch
	// wrote to: the value there is redacted in the event's other bodies.
	targets []string
	// cols: which columns of the Table being kept keep their cells.
	cols []bool
	// search: the event's bytes hold a marker of what the secrets preset looks for
	// outside secret-bearing requests (see secretsGate).
	search bool
}

func (p *pass) touch() {
	p.changed()
	p.n++
}

// changed marks the event changed before its first change. Until then it is not, so an
// untouched event is still written as its original bytes.
func (p *pass) changed() {
	if p.n == 0 && p.bodies == 0 {
		p.ev.MutableFields()
	}
}

// removeBody removes a body the preset does not understand, whatever the action.
func (p *pass) removeBody(m map[string]any, k string) {
	if _, ok := m[k]; !ok {
		return
	}
	p.changed()
	p.bodies++
	delete(m, k)
}

// redact returns v's replacement under the action, or remove=true.
func (a *action) redact(p *pass, v any) (any, bool) {
	p.touch()
	switch a.kind {
	case actRemove:
		return nil, true
	case actHash:
		h, err := a.hash(v)
		if err != nil {
			p.err = err
			return Placeholder, false
		}
		return h, false
	default:
		return Placeholder, false
	}
}

func (a *action) hash(v any) (string, error) {
	var b []byte
	if s, ok := v.(string); ok {
		b = []byte(s)
	} else {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return "", fmt.Errorf("hash a %T value: %w", v, err)
		}
	}
	m := hmac.New(sha256.New, a.key)
	m.Write(b)
	return hashPrefix + hex.EncodeToString(m.Sum(nil)), nil
}

// redactKey redacts m[k] when it holds something.
func (p *pass) redactKey(m map[string]any, k string) {
	v, ok := m[k]
	if !ok || v == nil {
		return
	}
	nv, rm := p.act.redact(p, v)
	if rm {
		delete(m, k)
		return
	}
	m[k] = nv
}

// removeKey removes m[k] whatever the action: the fail-closed answer to a body the
// preset does not understand, and the managed-fields preset.
func (p *pass) removeKey(m map[string]any, k string) {
	if _, ok := m[k]; !ok {
		return
	}
	p.touch()
	delete(m, k)
}
