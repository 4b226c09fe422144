package elasticsearch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/valyala/fastjson"

	"github.com/auditship/auditship/pipeline"
)

// cluster is the distribution and version the output writes to.
type cluster struct {
	openSearch bool
	// oss: an Elasticsearch OSS build (7.x build_flavor "oss"), which lacks the
	// x-pack `flattened` type.
	oss bool
	// version is the number GET / reported; empty when it could not be read (OpenSearch
	// Serverless has no GET /; a writer without the monitor privilege gets 403).
	version      string
	major, minor int
}

func (c cluster) String() string {
	name := "Elasticsearch"
	if c.openSearch {
		name = "OpenSearch"
	}
	if c.oss {
		name += " OSS"
	}
	if c.version == "" {
		return name + " (version unknown)"
	}
	return name + " " + c.version
}

func (c cluster) atLeast(major, minor int) bool {
	return c.major > major || (c.major == major && c.minor >= minor)
}

// objectType is the one-field type for an open-ended object (request and response
// bodies, annotations): `flattened` on Elasticsearch (since 7.3, not in OSS builds), `flat_object` on
// OpenSearch 2.7 and later, and "" where neither exists, for an object stored in
// _source but not indexed (`enabled: false`), which accepts any shape too.
func (c cluster) objectType() string {
	switch {
	case !c.openSearch && !c.oss:
		return "flattened"
	case c.openSearch && c.version != "" && c.atLeast(2, 7):
		return "flat_object"
	}
	return ""
}

// supported is an error for a version the output cannot write to correctly: composable
// index templates and data streams need Elasticsearch 7.9; 7.10 is the oldest tested.
func (c cluster) supported() error {
	if !c.openSearch && c.version != "" && !c.atLeast(7, 10) {
		return fmt.Errorf("%s is not supported: use Elasticsearch 7.10 or later, or OpenSearch 1.0 or later", c)
	}
	return nil
}

// parseInfo reads GET /'s answer: OpenSearch names itself in version.distribution;
// Elasticsearch has no distribution member (and, from 7.14, sends X-Elastic-Product).
// OpenSearch 1.x with compatibility.override_main_response_version reports 7.10.2 and
// no distribution, but keeps its tagline: it is then OpenSearch of unknown version.
func parseInfo(body []byte) (cluster, error) {
	v, err := fastjson.ParseBytes(body)
	if err != nil {
		return cluster{}, fmt.Errorf("GET / answered with something other than JSON: %w", err)
	}
	number := string(v.GetStringBytes("version", "number"))
	if number == "" {
		return cluster{}, errors.New("GET / answered without version.number: not Elasticsearch or OpenSearch")
	}
	c := cluster{version: number}
	c.openSearch = strings.EqualFold(string(v.GetStringBytes("version", "distribution")), "opensearch")
	c.oss = string(v.GetStringBytes("version", "build_flavor")) == "oss"
	parts := strings.SplitN(number, ".", 3)
	c.major, err = strconv.Atoi(parts[0])
	if err != nil {
		return cluster{}, fmt.Errorf("GET / reported version %q, which is not a version number", number)
	}
	if len(parts) > 1 {
		c.minor, _ = strconv.Atoi(parts[1])
	}
	if !c.openSearch && strings.Contains(string(v.GetStringBytes("tagline")), "OpenSearch") {
		c = cluster{openSearch: true}
	}
	return c, nil
}

// detector finds out, once, what the output writes to.
type detector struct {
	compat  string
	service string // aws_sigv4.service, "" without signing

	mu    sync.Mutex
	found *cluster
}

// cluster returns the detected cluster, asking the node on the first call that
// succeeds. An error is retried on the next call.
func (o *Output) cluster(ctx context.Context) (cluster, error) {
	d := o.detect
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.found != nil {
		return *d.found, nil
	}
	c, err := o.askCluster(ctx)
	if err != nil {
		return cluster{}, err
	}
	if err := c.supported(); err != nil {
		// The node said for certain what it is: a configuration error, not a transient one.
		return cluster{}, pipeline.Misconfigured(err)
	}
	d.found = &c
	o.log.Info("output cluster", "cluster", c.String(), "body_mapping", orDisabled(c.objectType()))
	return c, nil
}

func orDisabled(t string) string {
	if t == "" {
		return "object, enabled: false"
	}
	return t
}

func (o *Output) askCluster(ctx context.Context) (cluster, error) {
	d := o.detect
	if d.service == "aoss" {
		// OpenSearch Serverless has no GET /, and no version: it is OpenSearch.
		return cluster{openSearch: true}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	res, err := esapi.InfoRequest{}.Do(ctx, o.transport)
	if err != nil {
		return cluster{}, fmt.Errorf("GET / (to learn the distribution and version): %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return cluster{}, fmt.Errorf("GET /: read answer: %w", err)
	}
	if res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden {
		// A writer may lack the monitor privilege GET / needs. Say what is known.
		switch {
		case d.compat == CompatOpenSearch:
			return cluster{openSearch: true}, nil
		case d.compat == CompatElasticsearch || res.Header.Get("X-Elastic-Product") == "Elasticsearch":
			return cluster{}, nil
		}
		return cluster{}, fmt.Errorf("GET / answered %d, so the distribution is unknown: grant the monitor cluster privilege or set compatibility: elasticsearch or opensearch", res.StatusCode)
	}
	if res.IsError() {
		return cluster{}, fmt.Errorf("GET /: %w", &requestError{status: res.StatusCode, kind: errorType(body),
			after: retryAfter(res.Header.Get("Retry-After"), time.Now())})
	}
	c, err := parseInfo(body)
	if err != nil {
		return cluster{}, err
	}
	switch {
	case d.compat == CompatElasticsearch && c.openSearch:
		return cluster{}, pipeline.Misconfigured(fmt.Errorf("compatibility is elasticsearch, but the node is %s", c))
	case d.compat == CompatOpenSearch && !c.openSearch:
		return cluster{}, pipeline.Misconfigured(fmt.Errorf("compatibility is opensearch, but the node is %s", c))
	}
	return c, nil
}
