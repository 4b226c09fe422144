// Package kafka is the `type: kafka` output: each event a record (value: the audit
// event's own bytes; key: its id, the SHA-256 of those bytes, so a replay lands in the
// same partition; headers source, agent and input), produced with franz-go's idempotent
// producer and acks=all. A batch is acknowledged when every record's produce promise
// succeeded; a record the brokers refuse for good (too large, invalid) is reported to the
// engine, which writes it to the output's dead-letter file; the rest of a failed batch is
// retried by the engine.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/eventid"
	"github.com/auditship/auditship/internal/evtemplate"
	"github.com/auditship/auditship/internal/secretfile"
	"github.com/auditship/auditship/pipeline"
)

// Output produces batches to Kafka. Write is safe for concurrent use.
type Output struct {
	name         string
	log          hclog.Logger
	client       *kgo.Client
	topic        *evtemplate.Template
	defaultTopic string
	agent        []byte
}

// New returns an output for cfg, which must have passed Validate. The client connects
// lazily: unreachable brokers show in Ready and in retried writes, not here.
func New(cfg *Config, set config.Settings) (*Output, error) {
	log := set.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	topic, err := evtemplate.Parse(cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("topic: %w", err)
	}
	opts, err := clientOptions(cfg, log)
	if err != nil {
		return nil, err
	}
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	return &Output{
		name: set.Name, log: log, client: client,
		topic: topic, defaultTopic: cfg.DefaultTopic, agent: []byte(set.NodeName),
	}, nil
}

var codecs = map[string]kgo.CompressionCodec{
	"zstd": kgo.ZstdCompression(), "lz4": kgo.Lz4Compression(), "snappy": kgo.SnappyCompression(),
	"gzip": kgo.GzipCompression(), "none": kgo.NoCompression(),
}

func clientOptions(cfg *Config, log hclog.Logger) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		// Idempotent by default in franz-go; acks=all is what idempotence requires, and
		// what makes a record survive its leader's loss.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(codecs[cfg.Compression]),
		kgo.ProducerBatchMaxBytes(int32(cfg.MaxMessageBytes)),
		kgo.ProducerLinger(cfg.Linger),
		kgo.RecordDeliveryTimeout(cfg.DeliveryTimeout),
		kgo.MaxBufferedRecords(2 * cfg.Delivery.BatchMaxEvents * cfg.Delivery.Concurrency),
	}
	if cfg.tlsOn() {
		tc, err := cfg.TLS.Config()
		if err != nil {
			return nil, err
		}
		if cfg.TLS.InsecureSkipVerify {
			log.Warn("tls.insecure_skip_verify is set: the Kafka brokers' certificates are not verified, so credentials and audit events can be intercepted")
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if cfg.SASL.Mechanism != "" {
		mech, err := mechanism(cfg)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(mech))
	}
	return opts, nil
}

// mechanism returns the SASL mechanism of cfg, its password read from password_file.
func mechanism(cfg *Config) (sasl.Mechanism, error) {
	pass, err := secretfile.InlineOrFile("sasl.password_file", string(cfg.SASL.Password), cfg.SASL.PasswordFile)
	if err != nil {
		return nil, err
	}
	switch cfg.SASL.Mechanism {
	case MechPlain:
		return plain.Auth{User: cfg.SASL.Username, Pass: pass}.AsMechanism(), nil
	case MechScramSHA256:
		return scram.Auth{User: cfg.SASL.Username, Pass: pass}.AsSha256Mechanism(), nil
	case MechScramSHA512:
		return scram.Auth{User: cfg.SASL.Username, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("sasl.mechanism: unknown value %q", cfg.SASL.Mechanism)
}

// refusedForGood reports whether the brokers (or the client's own check of the same
// limit) refuse a record whatever is retried: too large, invalid, a topic that cannot
// exist. Anything else (leader moves, a broker down, timeouts, authorization, which an
// operator fixes) is retried.
func refusedForGood(err error) bool {
	for _, k := range []error{kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidRecord,
		kerr.CorruptMessage, kerr.InvalidTopicException, kerr.UnsupportedCompressionType} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// topicFor renders the topic template for ev, DefaultTopic when a member is missing or
// the name is not one Kafka accepts.
func (o *Output) topicFor(ev *pipeline.Event) string {
	t, ok := o.topic.Render(ev, nil)
	if !ok || !topicName.MatchString(t) {
		return o.defaultTopic
	}
	return t
}

// Write produces b and waits for every record's promise. It returns nil when all were
// acknowledged by all in-sync replicas; a *pipeline.BatchError naming the records to
// produce again and, as pipeline.Reject, those the brokers refuse for good (the engine
// dead-letters them).
func (o *Output) Write(ctx context.Context, b pipeline.Batch) error {
	if len(b) == 0 {
		return nil
	}
	results := make([]error, len(b))
	recs := make([]*kgo.Record, len(b))
	failed := map[int]error{}
	var wg sync.WaitGroup
	for i, ev := range b {
		doc, err := ev.AppendJSON(nil)
		if err != nil {
			failed[i] = pipeline.Reject(pipeline.Rejection{ErrorType: "encode", Reason: err.Error(), Event: ev.Raw()})
			continue
		}
		recs[i] = o.record(ev, doc)
		wg.Add(1)
		o.client.Produce(ctx, recs[i], func(_ *kgo.Record, err error) {
			results[i] = err
			wg.Done()
		})
	}
	wg.Wait()

	for i, err := range results {
		switch {
		case err == nil:
		case refusedForGood(err):
			r := recs[i]
			failed[i] = pipeline.Reject(pipeline.Rejection{Topic: r.Topic, ID: string(r.Key), Status: int(errCode(err)),
				ErrorType: errName(err), Reason: "the brokers refuse this record for good: " + err.Error(), Event: r.Value})
		default:
			failed[i] = err
		}
	}
	if len(failed) == 0 {
		return nil
	}
	if len(failed) == len(b) {
		retry := 0
		var first error
		for _, err := range failed {
			if !pipeline.IsPermanent(err) {
				retry++
				if first == nil {
					first = err
				}
			}
		}
		if retry == len(b) {
			return fmt.Errorf("kafka: %d records not produced, e.g.: %w", len(failed), first)
		}
	}
	return &pipeline.BatchError{Failed: failed}
}

// record is the Kafka record of ev, encoded as doc: keyed by its id, with the source,
// agent and input headers.
func (o *Output) record(ev *pipeline.Event, doc []byte) *kgo.Record {
	id := eventid.Of(doc)
	source := "kube-apiserver"
	if ev.Source == pipeline.SourceKubeAuditRest {
		source = "kube-audit-rest"
	}
	r := &kgo.Record{
		Topic: o.topicFor(ev), Key: id[:], Value: doc,
		Headers: []kgo.RecordHeader{{Key: "source", Value: []byte(source)}, {Key: "agent", Value: o.agent}},
	}
	if ev.Input != "" {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: "input", Value: []byte(ev.Input)})
	}
	return r
}

func errCode(err error) int16 {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return 0
}

func errName(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	return ""
}

// Ready pings the brokers.
func (o *Output) Ready(ctx context.Context) error {
	if err := o.client.Ping(ctx); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	return nil
}

// Close flushes nothing (every Write waited for its records) and closes the client.
func (o *Output) Close(context.Context) error {
	o.client.Close()
	return nil
}
