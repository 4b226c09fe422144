package redact

import (
	"strconv"
	"strings"
)

// The kubernetes-secrets preset keeps, on anything secret-bearing, only what these
// schemas name; every other member is redacted (masked, hashed or removed by the filter's
// action). A schema is an allow-list of known-safe members with the JSON type each must
// have: a member of the wrong type is redacted whole, so a schema can only ever keep
// less than the object holds, never a value the schema does not know to be safe.
//
// The schemas follow the Go types of the Kubernetes API (k8s.io/api core/v1 Secret,
// authentication/v1 TokenReview and TokenRequest, meta/v1 ObjectMeta, ListMeta, Status,
// DeleteOptions, Table, ManagedFieldsEntry); the Secret's own values (data, stringData)
// and tokens are never kept.

// nodeKind is what a schema node keeps.
type nodeKind uint8

const (
	nRedact          nodeKind = iota // never kept: a secret value (empty strings and nulls carry nothing and stay)
	nString                          // a string, kept
	nBool                            // a boolean, kept
	nNumber                          // a number, kept
	nStringList                      // an array of strings, kept
	nStringMap                       // an object of strings (labels), kept
	nStringLists                     // an object of string arrays (user.extra), kept
	nWord                            // a string from words (kind, apiVersion, patch op), else redacted
	nAPIVersion                      // a group/version string, else redacted
	nSecretValues                    // an object whose keys are kept and values redacted (data, stringData)
	nAnnotations                     // an object whose keys are kept; values only for allow-listed keys
	nObject                          // an object with the members in fields
	nList                            // an array of elem
	nFieldNames                      // managedFields fieldsV1: field names only
	nCells                           // Table row cells: kept by column (see table)
	nAnnotationValue                 // one annotation's value (a JSON Patch path to it): kept if key is allow-listed
)

type node struct {
	kind   nodeKind
	fields map[string]*node
	elem   *node
	words  map[string]bool
	key    string // nAnnotationValue: the annotation's key
}

func object(fields map[string]*node) *node { return &node{kind: nObject, fields: fields} }
func listOf(elem *node) *node              { return &node{kind: nList, elem: elem} }

func words(ws ...string) *node {
	n := &node{kind: nWord, words: make(map[string]bool, len(ws))}
	for _, w := range ws {
		n.words[w] = true
	}
	return n
}

var (
	leafRedact      = &node{kind: nRedact}
	leafString      = &node{kind: nString}
	leafBool        = &node{kind: nBool}
	leafNumber      = &node{kind: nNumber}
	leafStringList  = &node{kind: nStringList}
	leafStringMap   = &node{kind: nStringMap}
	leafStringLists = &node{kind: nStringLists}
	leafAPIVersion  = &node{kind: nAPIVersion}
	leafValues      = &node{kind: nSecretValues}
	leafAnnotations = &node{kind: nAnnotations}
	leafFieldNames  = &node{kind: nFieldNames}
	leafCells       = &node{kind: nCells}

	// kindWords are the kinds a body of a secret-bearing request can have; any other
	// string in kind is redacted like any value.
	kindWords = words("Secret", "SecretList", "List", "Table", "Status", "DeleteOptions",
		"PartialObjectMetadata", "PartialObjectMetadataList", "TokenReview", "TokenRequest",
		"CreateOptions", "UpdateOptions", "PatchOptions", "ApplyOptions")

	// ObjectMeta: identity and bookkeeping; annotations by key (values per allow-list).
	objectMeta = object(map[string]*node{
		"name": leafString, "generateName": leafString, "namespace": leafString, "uid": leafString,
		"resourceVersion": leafString, "selfLink": leafString, "creationTimestamp": leafString,
		"deletionTimestamp": leafString, "generation": leafNumber, "deletionGracePeriodSeconds": leafNumber,
		"labels": leafStringMap, "annotations": leafAnnotations, "finalizers": leafStringList,
		"ownerReferences": listOf(object(map[string]*node{
			"apiVersion": leafString, "kind": leafString, "name": leafString, "uid": leafString,
			"controller": leafBool, "blockOwnerDeletion": leafBool,
		})),
		"managedFields": listOf(object(map[string]*node{
			"manager": leafString, "operation": leafString, "apiVersion": leafString, "time": leafString,
			"fieldsType": leafString, "subresource": leafString, "fieldsV1": leafFieldNames,
		})),
	})

	listMeta = object(map[string]*node{
		"resourceVersion": leafString, "continue": leafString, "remainingItemCount": leafNumber, "selfLink": leafString,
	})

	// secretSchema is core/v1 Secret, and every patch of one.
	secretSchema = object(map[string]*node{
		"apiVersion": leafAPIVersion, "kind": kindWords, "metadata": objectMeta,
		"data": leafValues, "stringData": leafValues, "type": leafString, "immutable": leafBool,
	})

	secretListSchema = object(map[string]*node{
		"apiVersion": leafAPIVersion, "kind": kindWords, "metadata": listMeta, "items": listOf(secretSchema),
	})

	// tableSchema is a meta/v1 Table of secrets (kubectl get secrets): the secrets printer's
	// cells are name, type, number of data keys and age; rows may embed the object.
	tableSchema = object(map[string]*node{
		"apiVersion": leafAPIVersion, "kind": kindWords, "metadata": listMeta,
		"columnDefinitions": listOf(object(map[string]*node{
			"name": words("Name", "Type", "Data", "Age"), "priority": leafNumber,
			"type":   words("string", "integer", "number", "boolean", "date"),
			"format": words("name", "date", "int32", "int64"),
		})),
		"rows": listOf(object(map[string]*node{"cells": leafCells, "object": secretSchema})),
	})

	// statusSchema is a meta/v1 Status: what a failed request (or a delete) answers. Its
	// message is the API server's text, kept.
	statusSchema = object(map[string]*node{
		"apiVersion": leafAPIVersion, "kind": kindWords, "metadata": listMeta,
		"status": leafString, "message": leafString, "reason": leafString, "code": leafNumber,
		"details": object(map[string]*node{
			"name": leafString, "group": leafString, "kind": leafString, "uid": leafString,
			"retryAfterSeconds": leafNumber,
			"causes":            listOf(object(map[string]*node{"reason": leafString, "message": leafString, "field": leafString})),
		}),
	})

	deleteOptionsSchema = object(map[string]*node{
		"apiVersion": leafAPIVersion, "kind": kindWords, "gracePeriodSeconds": leafNumber,
		"preconditions":    object(map[string]*node{"uid": leafString, "resourceVersion": leafString}),
		"orphanDependents": leafBool, "propagationPolicy": leafString, "dryRun": leafStringList,
		"ignoreStoreReadErrorWithClusterBreakingPotential": leafBool,
	})

	userInfo = object(map[string]*node{
		"username": leafString, "uid": leafString, "groups": leafStringList, "extra": leafStringLists,
	})

	// tokenReviewSchema is authentication/v1 TokenReview: the token is never kept.
	tokenReviewSchema = object(map[string]*node{
		"apiVersion": leafAPIVersion, "kind": kindWords, "metadata": objectMeta,
		"spec": object(map[string]*node{"token": leafRedact, "audiences": leafStringList}),
		"status": object(map[string]*node{
			"authenticated": leafBool, "user": userInfo, "audiences": leafStringList, "error": leafString,
		}),
	})

	// tokenRequestSchema is authentication/v1 TokenRequest (serviceaccounts/token).
	tokenRequestSchema = object(map[string]*node{
		"apiVersion": leafAPIVersion, "kind": kindWords, "metadata": objectMeta,
		"spec": object(map[string]*node{
			"audiences": leafStringList, "expirationSeconds": leafNumber,
			"boundObjectRef": object(map[string]*node{
				"kind": leafString, "apiVersion": leafString, "name": leafString, "uid": leafString,
			}),
		}),
		"status": object(map[string]*node{"token": leafRedact, "expirationTimestamp": leafString}),
	})

	// jsonPatchOps are the RFC 6902 operations; an operation's value is checked against
	// the schema at its path (pointerNode).
	jsonPatchOps = words("add", "remove", "replace", "move", "copy", "test")
)

// patchDirectiveWords are the values of the strategic-merge-patch directive $patch
// (k8s.io/apimachinery strategicpatch): words, never data.
var patchDirectiveWords = map[string]bool{"replace": true, "merge": true, "delete": true}

// isAPIVersion reports whether s is shaped like an apiVersion: an optional DNS-style group
// and a slash, then v<digits> with an optional alpha<digits> or beta<digits>.
func isAPIVersion(s string) bool {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		group := s[:i]
		if group == "" || len(group) > 253 {
			return false
		}
		for j := 0; j < len(group); j++ {
			c := group[j]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
				return false
			}
		}
		s = s[i+1:]
	}
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	rest := strings.TrimLeft(s[1:], "0123456789")
	if len(rest) == len(s)-1 {
		return false // no major version digits
	}
	for _, pre := range [...]string{"alpha", "beta"} {
		if strings.HasPrefix(rest, pre) {
			digits := rest[len(pre):]
			if digits == "" {
				return false
			}
			_, err := strconv.ParseUint(digits, 10, 32)
			return err == nil
		}
	}
	return rest == ""
}

// pointerNode returns the schema node at the JSON Pointer (RFC 6901) path under root, or
// nil when the schema does not know the position (its value is then redacted). A path
// that goes through a kept-whole leaf reaches an element of it: a label's value, a
// managedFields name.
func pointerNode(root *node, path string) *node {
	if path == "" {
		return root
	}
	if path[0] != '/' {
		return nil
	}
	n := root
	for _, raw := range strings.Split(path[1:], "/") {
		seg := strings.ReplaceAll(strings.ReplaceAll(raw, "~1", "/"), "~0", "~")
		switch n.kind {
		case nObject:
			n = n.fields[seg]
			if n == nil {
				return nil
			}
		case nList:
			n = n.elem
		case nStringList:
			n = leafString
		case nStringMap:
			n = leafString
		case nStringLists:
			n = leafStringList
		case nSecretValues:
			n = leafRedact
		case nAnnotations:
			n = &node{kind: nAnnotationValue, key: seg}
		case nFieldNames:
			// A name in fieldsV1 is a field name; its value is a set of names.
			n = leafFieldNames
		default:
			return nil
		}
	}
	return n
}
