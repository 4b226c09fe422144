package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrNotEventList is wrapped by every DecodeEventList error; none quotes the body.
var ErrNotEventList = errors.New("body is not an audit.k8s.io EventList")

// eventListVersions are the apiVersions kube-apiserver's webhook backend posts
// (--audit-webhook-version, audit.k8s.io/v1 by default).
var eventListVersions = map[string]bool{"audit.k8s.io/v1": true, "audit.k8s.io/v1beta1": true}

// DecodeEventList returns the items of an EventList body, each as one line: the item's
// bytes as received with only the white space between tokens removed (json.Compact), so
// numbers keep their digits and strings their escapes. Nothing is added to an item;
// kube-apiserver's items carry no kind or apiVersion and the audit decoder needs none.
//
// The body must be one JSON object with "kind": "EventList", an "apiVersion" of
// audit.k8s.io/v1 or v1beta1 and "items" a list of objects (null: none).
// Member names are matched exactly, as kube-apiserver's decoder does: "ITEMS" is not
// "items". A repeated member name is an error, since which one counts would be a guess.
// What an item holds is left to the pipeline's decoder, which counts an item that is not
// an audit event invalid, as it does a line of a log file.
func DecodeEventList(body []byte) ([][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("%w: not a JSON object", ErrNotEventList)
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %s", ErrNotEventList, reason(err))
		}
		name, _ := t.(string)
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("%w: a member name is repeated", ErrNotEventList)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: %s", ErrNotEventList, reason(err))
		}
		members[name] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotEventList, reason(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the object", ErrNotEventList)
	}
	var kind, version string
	if json.Unmarshal(members["kind"], &kind) != nil || kind != "EventList" {
		return nil, fmt.Errorf("%w: kind is not EventList", ErrNotEventList)
	}
	if json.Unmarshal(members["apiVersion"], &version) != nil || !eventListVersions[version] {
		return nil, fmt.Errorf("%w: apiVersion is not audit.k8s.io/v1 or v1beta1", ErrNotEventList)
	}
	raw, ok := members["items"]
	if !ok {
		return nil, fmt.Errorf("%w: no items", ErrNotEventList)
	}
	if bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("%w: items is not a list", ErrNotEventList)
	}
	out := make([][]byte, 0, len(items))
	for i, it := range items {
		if len(it) == 0 || it[0] != '{' {
			return nil, fmt.Errorf("%w: item %d is not an object", ErrNotEventList, i)
		}
		var line bytes.Buffer
		line.Grow(len(it))
		if err := json.Compact(&line, it); err != nil {
			return nil, fmt.Errorf("%w: item %d: %s", ErrNotEventList, i, reason(err))
		}
		out = append(out, line.Bytes())
	}
	return out, nil
}

// reason names a decoding error without quoting the body.
func reason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "unexpected end"
	}
	return fmt.Sprintf("cannot decode (%T)", err)
}
