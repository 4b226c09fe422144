package kube

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// DifferentialPolicies are the policies of the policy differential: each is given to kube-apiserver itself and to
// auditship's audit_policy filter. Together they use every rule attribute (users,
// userGroups, verbs, resources with groups, subresources, wildcards and resourceNames,
// namespaces, nonResourceURLs), levels None to RequestResponse, omitStages at both policy
// and rule level, and omitManagedFields.
var DifferentialPolicies = map[string]string{
	"secrets-metadata": `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  resources:
  - group: ""
    resources: ["secrets", "serviceaccounts/token"]
  - group: authentication.k8s.io
    resources: ["tokenreviews"]
- level: None
  verbs: ["watch"]
- level: Request
  verbs: ["create", "update", "patch", "delete"]
- level: RequestResponse
`,
	"scoped-rules": `apiVersion: audit.k8s.io/v1
kind: Policy
omitManagedFields: true
rules:
- level: RequestResponse
  namespaces: ["diff-1"]
  resources:
  - group: apps
    resources: ["deployments"]
- level: Metadata
  resources:
  - group: ""
    resources: ["pods/exec", "pods/attach"]
- level: None
  resources:
  - group: ""
    resources: ["configmaps"]
    resourceNames: ["settings"]
- level: Request
  userGroups: ["system:masters"]
  omitStages: ["ResponseStarted"]
- level: Metadata
  nonResourceURLs: ["/healthz*", "/version"]
- level: None
`,
	"who-and-what": `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: RequestResponse
  users: ["nobody"]
- level: Metadata
  resources:
  - group: rbac.authorization.k8s.io
- level: Request
  resources:
  - group: ""
    resources: ["pods/*", "namespaces"]
- level: RequestResponse
  verbs: ["get", "list"]
  resources:
  - group: ""
    resources: ["*"]
- level: Metadata
  omitStages: ["RequestReceived", "ResponseStarted"]
`,
}

// PolicyDiff compares the events of audit IDs starting with prefix+"-" in want (what
// kube-apiserver wrote under a policy) and got (what auditship's audit_policy kept of the
// RequestResponse log of the same traffic): the same auditID/stage pairs, and for each
// the same level, requestObject and responseObject, up to what differs between two
// clusters given the same requests (UIDs, resource versions, timestamps, tokens, Table
// cells). It returns the differences, one line each, and the number of events in want.
func PolicyDiff(prefix string, want, got [][]byte) ([]string, int, error) {
	w, err := byKey(prefix, want)
	if err != nil {
		return nil, 0, fmt.Errorf("kube-apiserver: %w", err)
	}
	g, err := byKey(prefix, got)
	if err != nil {
		return nil, 0, fmt.Errorf("auditship: %w", err)
	}
	var diffs []string
	for k, we := range w {
		ge, ok := g[k]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s: written by kube-apiserver (level %v), not by auditship", k, we["level"]))
			continue
		}
		for _, f := range []string{"level", "requestObject", "responseObject"} {
			if !reflect.DeepEqual(normalize(we[f]), normalize(ge[f])) {
				diffs = append(diffs, fmt.Sprintf("%s %s: kube-apiserver %s, auditship %s", k, f, brief(we[f]), brief(ge[f])))
			}
		}
	}
	for k, ge := range g {
		if _, ok := w[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: kept by auditship (level %v), not written by kube-apiserver", k, ge["level"]))
		}
	}
	sort.Strings(diffs)
	return diffs, len(w), nil
}

// byKey decodes the events of audit IDs PREFIX-N by auditID/stage.
func byKey(prefix string, lines [][]byte) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	for _, l := range lines {
		var e map[string]any
		if err := json.Unmarshal(l, &e); err != nil {
			return nil, err
		}
		id, _ := e["auditID"].(string)
		if !strings.HasPrefix(id, prefix+"-") {
			continue
		}
		k := fmt.Sprintf("%s/%v", id, e["stage"])
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%s twice", k)
		}
		out[k] = e
	}
	return out, nil
}

// volatile are the members whose values differ between two clusters given the same
// requests.
var volatile = map[string]bool{
	"uid": true, "resourceVersion": true, "creationTimestamp": true, "time": true,
	"token": true, "expirationTimestamp": true, "extra": true, "cells": true,
}

// generatedPrefixes start names the API server completes with random characters (the
// projected service account token volume the ServiceAccount admission plugin adds).
var generatedPrefixes = []string{"kube-api-access-"}

func normalize(v any) any {
	switch x := v.(type) {
	case string:
		for _, p := range generatedPrefixes {
			if strings.HasPrefix(x, p) {
				return p + "*"
			}
		}
		return x
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			if !volatile[k] {
				m[k] = normalize(e)
			}
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = normalize(e)
		}
		return s
	}
	return v
}

func brief(v any) string {
	if v == nil {
		return "absent"
	}
	b, _ := json.Marshal(v)
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}
