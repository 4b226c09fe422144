// Package splunkhec is the `type: splunk_hec` output: batches of events posted to a
// Splunk HTTP Event Collector (/services/collector/event) as newline-joined JSON
// envelopes (time, host, source, sourcetype, index, indexed fields, and the audit event
// as its own bytes), gzipped. With indexer acknowledgement (`ack: true`) a batch is
// delivered only once /services/collector/ack reports it indexed; otherwise on HEC's
// 200. Busy (503), throttled (429) and failing (5xx) collectors are retried with backoff,
// honouring Retry-After; an event HEC refuses (400, which names it by
// invalid-event-number) is reported to the engine, which writes it to the output's
// dead-letter file, and the rest of its batch is sent again; a refused token (401, 403) holds every event back and says why.
package splunkhec

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/klauspost/compress/gzip"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/delivery"
	"github.com/auditship/auditship/internal/secretfile"
	"github.com/auditship/auditship/pipeline"
)

// Output ships batches to one HEC endpoint. Write is safe for concurrent use.
type Output struct {
	name     string
	log      hclog.Logger
	client   *http.Client
	eventURL string
	ackURL   string
	auth     string // "Splunk <token>"
	// channel is this output's X-Splunk-Request-Channel, a random GUID: ackIds are
	// counted per channel.
	channel      string
	ack          bool
	pollInterval time.Duration
	ackTimeout   time.Duration
	gzip         bool
	timeout      time.Duration
	enc          *encoder
	zpool        sync.Pool // *gzip.Writer

	// refused is the last 401/403, for Ready; cleared by the next accepted request.
	refused       atomic.Pointer[authError]
	noAckWarnOnce sync.Once
}

// New returns an output for cfg, which must have passed Validate. It does no network
// I/O: an unreachable collector shows in Ready and in retried writes.
func New(cfg *Config, set config.Settings) (*Output, error) {
	log := set.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	token, err := secretfile.InlineOrFile("token_file", string(cfg.Token), cfg.TokenFile)
	if err != nil {
		return nil, err
	}
	index, err := parseTemplate(cfg.Index)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	tlsCfg, err := cfg.TLS.Config()
	if err != nil {
		return nil, err
	}
	if cfg.TLS.InsecureSkipVerify {
		log.Warn("tls.insecure_skip_verify is set: the Splunk certificate is not verified, so the token and audit events can be intercepted")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.MaxIdleConnsPerHost = cfg.Delivery.Concurrency + 2

	var guid [16]byte
	if _, err := rand.Read(guid[:]); err != nil {
		return nil, fmt.Errorf("request channel: %w", err)
	}
	guid[6] = guid[6]&0x0f | 0x40 // version 4
	guid[8] = guid[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(guid[:])
	channel := h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]

	host := cfg.Host
	if host == "" {
		host = set.NodeName
	}
	base := strings.TrimRight(cfg.Endpoint, "/")
	return &Output{
		name: set.Name, log: log,
		client:   &http.Client{Transport: tr, CheckRedirect: delivery.NoRedirect},
		eventURL: base + "/services/collector/event",
		ackURL:   base + "/services/collector/ack",
		auth:     "Splunk " + token,
		channel:  channel,
		ack:      cfg.Ack, pollInterval: cfg.AckPollInterval, ackTimeout: cfg.AckTimeout,
		gzip: cfg.Compression == "gzip", timeout: cfg.RequestTimeout,
		enc: &encoder{index: index, host: host, source: cfg.Source, sourcetype: cfg.Sourcetype,
			sourcetypeR: cfg.SourcetypeKubeAuditRest, cluster: cfg.Cluster, now: time.Now},
	}, nil
}

// hecResponse is HEC's answer body: {"text":"Success","code":0,"ackId":7}, or
// {"text":"Invalid data format","code":6,"invalid-event-number":3}.
type hecResponse struct {
	Text         string `json:"text"`
	Code         int    `json:"code"`
	AckID        *int64 `json:"ackId"`
	InvalidEvent *int   `json:"invalid-event-number"`
}

// requestError is a failed request the engine retries, after at least the server's
// Retry-After when it sent one.
type requestError struct {
	status int
	text   string
	code   int
	after  time.Duration
}

func (e *requestError) Error() string {
	if e.text != "" {
		return fmt.Sprintf("splunk HEC answered %d: %s (code %d)", e.status, e.text, e.code)
	}
	return fmt.Sprintf("splunk HEC answered %d", e.status)
}

// RetryAfter implements pipeline.RetryAfter.
func (e *requestError) RetryAfter() time.Duration { return e.after }

// authError is HEC refusing the token (401: missing or malformed, 403: unknown or
// disabled). It is not marked Permanent: the engine acknowledges Permanent failures,
// which would drop the events; retrying holds them (and the checkpoint) until the token
// is fixed, and each attempt logs this at ERROR.
type authError struct{ requestError }

func (e *authError) Error() string {
	return fmt.Sprintf("splunk HEC refused the token (%d %s, code %d): fix token/token_file; events are held back and retried, none dropped",
		e.status, e.text, e.code)
}

// Write ships b. It returns nil when every event was accepted (with `ack: true`:
// reported indexed); a *pipeline.BatchError naming the events to send again and, as
// pipeline.Reject, those HEC refused for good, when only some were accepted; another
// error when none were.
func (o *Output) Write(ctx context.Context, b pipeline.Batch) error {
	if len(b) == 0 {
		return nil
	}
	pos := make([]int, len(b))
	for i := range pos {
		pos[i] = i
	}
	s := &sendState{b: b, failed: map[int]error{}}
	o.send(ctx, s, pos)
	if len(s.acks) > 0 {
		for id, err := range o.waitAcks(ctx, s.acks) {
			for _, g := range s.acks {
				if g.id == id {
					for _, p := range g.pos {
						s.failed[p] = err
					}
				}
			}
		}
	}
	if len(s.failed) == 0 {
		return nil
	}
	if len(s.failed) == len(b) && s.rejected == 0 {
		for _, err := range s.failed {
			return err
		}
	}
	return &pipeline.BatchError{Failed: s.failed}
}

// sendState collects what one Write learnt: the events to send again and those refused
// for good (pipeline.Reject, dead-lettered by the engine), by position.
type sendState struct {
	b        pipeline.Batch
	failed   map[int]error
	rejected int
	acks     []ackGroup
}

func (s *sendState) deadLetter(p int, status int, kind, reason string, event []byte) {
	s.failed[p] = pipeline.Reject(pipeline.Rejection{Status: status, ErrorType: kind, Reason: reason, Event: event})
	s.rejected++
}

// send posts the events at pos. HEC parses a request whole before indexing any of it,
// so a 400 indexed nothing: the event it names is dead-lettered and the others are sent
// again; a 400 naming none (or 413, too large) is bisected until the event is found.
func (o *Output) send(ctx context.Context, s *sendState, pos []int) {
	for len(pos) > 0 {
		body, sent, envs := o.encode(s, pos)
		if len(sent) == 0 {
			return
		}
		res, err := o.post(ctx, body)
		var re *requestError
		switch {
		case err == nil:
			if o.ack {
				if res.AckID == nil {
					o.noAckWarnOnce.Do(func() {
						o.log.Error("ack is true but splunk HEC returned no ackId: indexer acknowledgement is off for this token; batches count as delivered when HEC accepts them")
					})
				} else {
					s.acks = append(s.acks, ackGroup{id: *res.AckID, pos: sent})
				}
			}
			return
		case errors.As(err, &re) && re.status == http.StatusBadRequest && res.InvalidEvent != nil &&
			*res.InvalidEvent >= 0 && *res.InvalidEvent < len(sent):
			n := *res.InvalidEvent
			s.deadLetter(sent[n], re.status, strings.ToLower(strings.ReplaceAll(re.text, " ", "_")),
				fmt.Sprintf("splunk HEC refused the event: %s (code %d)", re.text, re.code), envs[n])
			pos = append(append([]int(nil), sent[:n]...), sent[n+1:]...)
		case errors.As(err, &re) && (re.status == http.StatusBadRequest || re.status == http.StatusRequestEntityTooLarge):
			if len(sent) == 1 {
				s.deadLetter(sent[0], re.status, "", fmt.Sprintf("splunk HEC refused the event: %s", re.Error()), envs[0])
				return
			}
			mid := len(sent) / 2
			o.send(ctx, s, sent[:mid])
			o.send(ctx, s, sent[mid:])
			return
		default:
			var ae *authError
			if errors.As(err, &ae) {
				o.refused.Store(ae)
				o.log.Error("splunk HEC output stopped: the collector refuses the token", "status", ae.status, "reason", ae.text, "code", ae.code)
			}
			for _, p := range sent {
				s.failed[p] = err
			}
			return
		}
	}
}

// encode builds the request body for the events at pos; an event that cannot be encoded
// is dead-lettered. It returns the positions sent and each one's envelope.
func (o *Output) encode(s *sendState, pos []int) ([]byte, []int, [][]byte) {
	var body []byte
	sent := make([]int, 0, len(pos))
	envs := make([][]byte, 0, len(pos))
	for _, p := range pos {
		start := len(body)
		var err error
		body, _, err = o.enc.encode(body, s.b[p])
		if err != nil {
			s.deadLetter(p, 0, "encode", err.Error(), s.b[p].Raw())
			continue
		}
		sent = append(sent, p)
		envs = append(envs, body[start:len(body)-1])
	}
	return body, sent, envs
}

// post sends one request body to the event endpoint.
func (o *Output) post(ctx context.Context, body []byte) (hecResponse, error) {
	var reqBody []byte = body
	if o.gzip {
		var buf bytes.Buffer
		zw, _ := o.zpool.Get().(*gzip.Writer)
		if zw == nil {
			zw = gzip.NewWriter(&buf)
		} else {
			zw.Reset(&buf)
		}
		_, _ = zw.Write(body) // a bytes.Buffer does not fail
		_ = zw.Close()
		o.zpool.Put(zw)
		reqBody = buf.Bytes()
	}
	res, status, hdr, err := o.do(ctx, o.eventURL, reqBody, o.gzip)
	if err != nil {
		return res, err
	}
	return res, o.statusError(status, hdr, res)
}

// do performs one POST and decodes HEC's answer.
func (o *Output) do(ctx context.Context, url string, body []byte, gz bool) (hecResponse, int, http.Header, error) {
	var res hecResponse
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return res, 0, nil, fmt.Errorf("splunk HEC request: %w", err)
	}
	req.Header.Set("Authorization", o.auth)
	req.Header.Set("X-Splunk-Request-Channel", o.channel)
	req.Header.Set("Content-Type", "application/json")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := o.client.Do(req)
	if err != nil {
		// net/http's error names the URL, which carries no credential (the token is a
		// header).
		return res, 0, nil, fmt.Errorf("splunk HEC: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return res, resp.StatusCode, resp.Header, fmt.Errorf("splunk HEC: read answer: %w", err)
	}
	// A proxy's HTML error page does not decode; the status still says what happened.
	_ = json.Unmarshal(data, &res)
	return res, resp.StatusCode, resp.Header, nil
}

func (o *Output) statusError(status int, hdr http.Header, res hecResponse) error {
	if status >= 200 && status < 300 {
		o.refused.Store(nil)
		return nil
	}
	re := requestError{status: status, text: res.Text, code: res.Code, after: delivery.ParseRetryAfter(hdr.Get("Retry-After"), time.Now())}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return &authError{re}
	}
	return &re
}

// Ready reports the last refused token, else whether HEC's health endpoint answers.
func (o *Output) Ready(ctx context.Context) error {
	if ae := o.refused.Load(); ae != nil {
		return ae
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(o.eventURL, "/event")+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return fmt.Errorf("splunk HEC: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("splunk HEC health answered %d", resp.StatusCode)
	}
	return nil
}

// Close releases idle connections.
func (o *Output) Close(context.Context) error {
	o.client.CloseIdleConnections()
	return nil
}
