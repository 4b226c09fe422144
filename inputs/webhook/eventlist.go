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
// bytes as received with only the white space between tokens removed, so numbers keep
// their digits and strings their escapes. Nothing is added to an item; kube-apiserver's
// items carry no kind or apiVersion and the audit decoder needs none.
//
// The body must be one JSON object with "kind": "EventList", an "apiVersion" of
// audit.k8s.io/v1 or v1beta1 and "items" a list of objects (null: none). Member names are
// matched exactly, as kube-apiserver's decoder does: "ITEMS" is not "items". A repeated
// member name is an error, since which one counts would be a guess. What an item holds is
// left to the pipeline's decoder, which counts an item that is not an audit event
// invalid, as it does a line of a log file.
//
// The body is checked once (json.Valid) and then split in one pass over its bytes: a
// 500-event batch is about 2 MB, and decoding it member by member with encoding/json
// scanned it five times.
func DecodeEventList(body []byte) ([][]byte, error) {
	if !json.Valid(body) {
		var v json.RawMessage
		err := json.Unmarshal(body, &v)
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%w: %s", ErrNotEventList, reason(err))
	}
	i := skipSpace(body, 0)
	if body[i] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrNotEventList)
	}
	members := map[string][]byte{}
	i = skipSpace(body, i+1)
	for body[i] != '}' {
		kEnd := stringEnd(body, i)
		name, err := memberName(body[i:kEnd])
		if err != nil {
			return nil, fmt.Errorf("%w: %s", ErrNotEventList, reason(err))
		}
		i = skipSpace(body, kEnd)
		i = skipSpace(body, i+1) // the colon
		vEnd := valueEnd(body, i)
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("%w: a member name is repeated", ErrNotEventList)
		}
		members[name] = body[i:vEnd]
		i = skipSpace(body, vEnd)
		if body[i] == ',' {
			i = skipSpace(body, i+1)
		}
	}
	var kind, version string
	if json.Unmarshal(members["kind"], &kind) != nil || kind != "EventList" {
		return nil, fmt.Errorf("%w: kind is not EventList", ErrNotEventList)
	}
	if json.Unmarshal(members["apiVersion"], &version) != nil || !eventListVersions[version] {
		return nil, fmt.Errorf("%w: apiVersion is not audit.k8s.io/v1 or v1beta1", ErrNotEventList)
	}
	items, ok := members["items"]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: no items", ErrNotEventList)
	case string(items) == "null":
		return nil, nil
	case items[0] != '[':
		return nil, fmt.Errorf("%w: items is not a list", ErrNotEventList)
	}
	var out [][]byte
	j := skipSpace(items, 1)
	for n := 0; items[j] != ']'; n++ {
		end := valueEnd(items, j)
		if items[j] != '{' {
			return nil, fmt.Errorf("%w: item %d is not an object", ErrNotEventList, n)
		}
		out = append(out, compact(items[j:end]))
		j = skipSpace(items, end)
		if items[j] == ',' {
			j = skipSpace(items, j+1)
		}
	}
	return out, nil
}

// The helpers below walk JSON that json.Valid accepted: every index they return is
// within the slice, and no error is possible.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// stringEnd returns the index after the string starting at b[i] (its opening quote).
func stringEnd(b []byte, i int) int {
	for i++; ; {
		k := bytes.IndexAny(b[i:], `"\`)
		i += k
		if b[i] == '"' {
			return i + 1
		}
		i += 2 // a backslash and the byte it escapes
	}
}

// valueEnd returns the index after the value starting at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
	}
	for i < len(b) && !isSpace(b[i]) && b[i] != ',' && b[i] != '}' && b[i] != ']' {
		i++
	}
	return i
}

// memberName decodes a member name (quotes included); one without escapes is its bytes.
func memberName(q []byte) (string, error) {
	if bytes.IndexByte(q, '\\') < 0 {
		return string(q[1 : len(q)-1]), nil
	}
	var s string
	err := json.Unmarshal(q, &s)
	return s, err
}

// compact returns v without the white space between its tokens; v itself when it has
// none.
func compact(v []byte) []byte {
	var out []byte
	from := 0 // v[from:i] is still to be copied to out
	for i := 0; i < len(v); {
		switch c := v[i]; {
		case c == '"':
			i = stringEnd(v, i)
		case isSpace(c):
			if out == nil {
				out = make([]byte, 0, len(v))
			}
			out = append(out, v[from:i]...)
			i = skipSpace(v, i)
			from = i
		default:
			i++
		}
	}
	if out == nil {
		return v
	}
	return append(out, v[from:]...)
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
