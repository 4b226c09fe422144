package elasticsearch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// sigV4Transport signs each request with AWS Signature Version 4 before it goes out, as
// Amazon OpenSearch Service (service "es") and OpenSearch Serverless ("aoss") require.
// It sits below the Elasticsearch transport, so it signs the request exactly as sent:
// the gzipped body, and every header set before it.
type sigV4Transport struct {
	next            http.RoundTripper
	signer          *v4.Signer
	creds           aws.CredentialsProvider
	region, service string
	now             func() time.Time
}

// newSigV4Transport loads credentials from the standard AWS chain (environment, shared
// files, web identity, container and instance roles). Nothing is fetched until the
// first request.
func newSigV4Transport(next http.RoundTripper, cfg SigV4Config) (*sigV4Transport, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(cfg.Region))
	if err != nil {
		return nil, fmt.Errorf("aws_sigv4: load AWS configuration: %w", err)
	}
	if awsCfg.Credentials == nil {
		return nil, fmt.Errorf("aws_sigv4: no AWS credential source configured")
	}
	return &sigV4Transport{
		next: next, signer: v4.NewSigner(), creds: awsCfg.Credentials,
		region: cfg.Region, service: cfg.Service, now: time.Now,
	}, nil
}

// RoundTrip implements http.RoundTripper. The body is read to hash it (bulk bodies are
// in memory already) and handed on as a fresh reader.
func (t *sigV4Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("aws_sigv4: read request body: %w", err)
		}
	}
	// A RoundTripper must not change the caller's request.
	signed := req.Clone(req.Context())
	signed.Body = io.NopCloser(bytes.NewReader(body))
	signed.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	signed.ContentLength = int64(len(body))
	if len(body) == 0 {
		signed.Body, signed.GetBody = http.NoBody, nil
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	// OpenSearch Serverless requires the payload hash as a header; Amazon OpenSearch
	// Service accepts it.
	signed.Header.Set("X-Amz-Content-Sha256", hash)
	creds, err := t.creds.Retrieve(req.Context())
	if err != nil {
		return nil, fmt.Errorf("aws_sigv4: retrieve AWS credentials: %w", err)
	}
	if err := t.signer.SignHTTP(req.Context(), creds, signed, hash, t.service, t.region, t.now()); err != nil {
		return nil, fmt.Errorf("aws_sigv4: sign request: %w", err)
	}
	return t.next.RoundTrip(signed)
}
