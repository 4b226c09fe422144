package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// flattenedDepthLimit bounds how deep a `flattened` body may nest (Elasticsearch's
// default, 20, is less than a CRD's openAPIV3Schema reaches). Elasticsearch's JSON
// parser refuses documents nested deeper than 1000 levels in any case.
const flattenedDepthLimit = 1000

// indexTemplate returns the composable index template body for the output's indices or
// data stream on cluster c. Fields an audit event always has get explicit types
// (keywords for the who/what, ip for sourceIPs, date for timestamps); the open-ended
// parts (request and response bodies, annotations, user extras, status details) are
// one field each, of the distribution's type for an object of any shape (objectType),
// so no Kubernetes object can be rejected by a mapping an earlier one made, nor grow
// the mapping without bound. bodies "disabled" keeps the bodies in _source only.
func indexTemplate(pattern string, dataStream bool, bodies string, c cluster) ([]byte, error) {
	keyword := map[string]any{"type": "keyword", "ignore_above": 1024}
	disabled := map[string]any{"type": "object", "enabled": false}
	var flattened map[string]any
	switch c.objectType() {
	case "flattened":
		flattened = map[string]any{"type": "flattened", "ignore_above": 8191, "depth_limit": flattenedDepthLimit}
	case "flat_object":
		// flat_object takes no parameters.
		flattened = map[string]any{"type": "flat_object"}
	default:
		flattened = disabled
	}
	body := flattened
	if bodies == "disabled" {
		body = disabled
	}
	// OpenSearch before 2.9 takes flat_object only for fields at the root of the
	// document (opensearch-project/OpenSearch#7136).
	inner := flattened
	if c.openSearch && !c.atLeast(2, 9) {
		inner = disabled
	}
	userInfo := map[string]any{"properties": map[string]any{
		"username": keyword,
		"uid":      keyword,
		"groups":   keyword,
		"extra":    inner,
	}}
	date := map[string]any{"type": "date", "format": "strict_date_optional_time||epoch_millis"}

	mappings := map[string]any{
		// New top-level fields in future audit versions become keywords, not text with a
		// keyword sub-field: halves the index cost and keeps aggregations working.
		"dynamic_templates": []any{map[string]any{
			"strings_as_keyword": map[string]any{
				"match_mapping_type": "string",
				"mapping":            keyword,
			},
		}},
		"properties": map[string]any{
			"@timestamp":               date,
			"kind":                     keyword,
			"apiVersion":               keyword,
			"level":                    keyword,
			"auditID":                  keyword,
			"stage":                    keyword,
			"requestURI":               map[string]any{"type": "keyword", "ignore_above": 8191},
			"verb":                     keyword,
			"user":                     userInfo,
			"impersonatedUser":         userInfo,
			"sourceIPs":                map[string]any{"type": "ip", "ignore_malformed": true},
			"userAgent":                keyword,
			"objectRef":                objectRef(keyword),
			"responseStatus":           responseStatus(keyword, inner),
			"requestObject":            body,
			"responseObject":           body,
			"oldObject":                body,
			"requestReceivedTimestamp": date,
			"stageTimestamp":           date,
			"annotations":              flattened,
		},
	}
	tmpl := map[string]any{
		"index_patterns": []string{pattern},
		// Above the built-in logs-*-* templates (priority 100), which would otherwise
		// win for a data stream named like logs-kubernetes.audit-default.
		"priority": 200,
		"template": map[string]any{"mappings": mappings},
		"_meta":    map[string]any{"managed_by": "auditship"},
	}
	if dataStream {
		tmpl["data_stream"] = map[string]any{}
	}
	out, err := json.Marshal(tmpl)
	if err != nil {
		return nil, fmt.Errorf("encode index template: %w", err)
	}
	return out, nil
}

func objectRef(keyword map[string]any) map[string]any {
	props := map[string]any{}
	for _, f := range []string{"resource", "namespace", "name", "uid", "apiGroup", "apiVersion", "resourceVersion", "subresource"} {
		props[f] = keyword
	}
	return map[string]any{"properties": props}
}

func responseStatus(keyword, flattened map[string]any) map[string]any {
	return map[string]any{"properties": map[string]any{
		"code":     map[string]any{"type": "integer"},
		"status":   keyword,
		"reason":   keyword,
		"message":  map[string]any{"type": "text"},
		"metadata": flattened,
		"details":  flattened,
	}}
}

// templateSetup installs the index template once, before the first bulk request.
type templateSetup struct {
	name       string
	pattern    string
	dataStream bool
	bodies     string

	mu   sync.Mutex
	done bool
}

// ensureTemplate installs the index template for cluster c once. Unreachable or busy:
// the error is retried with the batch. Refused (4xx: no manage_index_templates
// privilege, a mapping the cluster rejects): logged as an error and not retried, so
// events still ship, mapped by whatever template the cluster has.
func (o *Output) ensureTemplate(ctx context.Context, c cluster) error {
	t := o.template
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return nil
	}
	body, err := indexTemplate(t.pattern, t.dataStream, t.bodies, c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	res, err := esapi.IndicesPutIndexTemplateRequest{Name: t.name, Body: bytes.NewReader(body)}.Do(ctx, o.transport)
	if err != nil {
		return fmt.Errorf("install index template %s: %w", t.name, err)
	}
	defer res.Body.Close()
	respBody, _ := io.ReadAll(res.Body)
	if res.IsError() {
		re := &requestError{status: res.StatusCode, kind: errorType(respBody),
			after: retryAfter(res.Header.Get("Retry-After"), time.Now())}
		if res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusRequestTimeout {
			return fmt.Errorf("install index template %s: %w", t.name, re)
		}
		t.done = true
		o.log.Error("index template refused; shipping without it, so bodies are mapped dynamically and some may be rejected and dead-lettered",
			"template", t.name, "cluster", c.String(), "error", re)
		return nil
	}
	t.done = true
	o.log.Info("index template installed", "template", t.name, "cluster", c.String(), "body_mapping", orDisabled(c.objectType()))
	return nil
}
