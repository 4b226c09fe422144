package objectstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// s3Store uploads to a bucket with the default AWS credential chain.
type s3Store struct {
	bucket   string
	client   *s3.Client
	uploader *manager.Uploader
	sse      types.ServerSideEncryption
	kmsKeyID string
}

// newS3Store builds the client without network I/O: credentials resolve on first use, so
// IRSA or Pod Identity tokens that appear after start are still picked up. extra lets
// tests pin credentials.
func newS3Store(ctx context.Context, cfg *Config, loc location, extra ...func(*awsconfig.LoadOptions) error) (*s3Store, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		if cfg.Endpoint == "" {
			return nil, errors.New("region: not set here nor in the AWS environment (AWS_REGION, shared config)")
		}
		// S3-compatible stores mostly ignore the region but SigV4 needs one.
		awsCfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = cfg.ForcePathStyle
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			// Many S3-compatible stores reject the SDK's newer default flexible checksums;
			// the SigV4 payload hash still covers the body.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	// manager is deprecated in favour of feature/s3/transfermanager, which is still v0.x;
	// manager is the stable 1.x uploader.
	uploader := manager.NewUploader(client, func(u *manager.Uploader) { //nolint:staticcheck
		u.PartSize = int64(cfg.PartSize)
	})
	return &s3Store{
		bucket:   loc.bucket,
		client:   client,
		uploader: uploader,
		sse:      types.ServerSideEncryption(cfg.ServerSideEncryption),
		kmsKeyID: cfg.SSEKMSKeyID,
	}, nil
}

func (s *s3Store) putInput(key string, body []byte, c codec) *s3.PutObjectInput {
	in := &s3.PutObjectInput{
		Bucket:      aws.String(s.bucket),
		Key:         aws.String(key),
		Body:        bytes.NewReader(body),
		ContentType: aws.String(contentType),
	}
	if c.encoding != "" {
		in.ContentEncoding = aws.String(c.encoding)
	}
	if s.sse != "" {
		in.ServerSideEncryption = s.sse
	}
	if s.kmsKeyID != "" {
		in.SSEKMSKeyId = aws.String(s.kmsKeyID)
	}
	return in
}

func (s *s3Store) put(ctx context.Context, key string, body []byte, c codec) error {
	// Objects above one part go up as a multipart upload, which the uploader aborts on
	// failure so no orphaned parts are billed.
	if _, err := s.uploader.Upload(ctx, s.putInput(key, body, c)); err != nil { //nolint:staticcheck
		return s3Error("put", s.bucket+"/"+key, err)
	}
	return nil
}

func (s *s3Store) ready(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)}); err != nil {
		return s3Error("head bucket", s.bucket, err)
	}
	return nil
}

func (s *s3Store) String() string { return "s3://" + s.bucket }

// s3Error names the likely cause of the errors operators meet most, keeping the SDK's
// error (request id and all) for the rest.
func s3Error(op, what string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch",
			"InvalidToken", "ExpiredToken", "TokenRefreshRequired", "AllAccessDisabled":
			return fmt.Errorf("s3 %s %s: access denied (check credentials and bucket policy): %w", op, what, err)
		case "NoSuchBucket", "NotFound":
			return fmt.Errorf("s3 %s %s: bucket does not exist: %w", op, what, err)
		}
	}
	return fmt.Errorf("s3 %s %s: %w", op, what, err)
}
