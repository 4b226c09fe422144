package splunkhec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Indexer acknowledgement (`ack: true`): a request HEC accepted is delivered only once
// /services/collector/ack reports its ackId indexed.

// lostAckError: HEC took the request but did not report it indexed within ack_timeout.
type lostAckError struct{ id int64 }

func (e *lostAckError) Error() string {
	return fmt.Sprintf("splunk HEC did not acknowledge ackId %d as indexed in time; its events are sent again", e.id)
}

// ackGroup is one accepted request awaiting its ack: the ackId and the batch positions.
type ackGroup struct {
	id  int64
	pos []int
}

// waitAcks polls the ack endpoint until every group is reported indexed or ack_timeout
// passes; it returns the ackIds not acknowledged and why.
func (o *Output) waitAcks(ctx context.Context, groups []ackGroup) map[int64]error {
	pending := map[int64]bool{}
	for _, g := range groups {
		pending[g.id] = true
	}
	out := map[int64]error{}
	deadline := time.Now().Add(o.ackTimeout)
	var lastErr error
	for {
		ids := make([]int64, 0, len(pending))
		for id := range pending {
			ids = append(ids, id)
		}
		q, _ := json.Marshal(map[string][]int64{"acks": ids})
		res, status, hdr, err := o.doAck(ctx, q)
		if err == nil {
			err = o.statusError(status, hdr, hecResponse{Text: res.text, Code: res.code})
		}
		if err != nil {
			lastErr = err
			var ae *authError
			if errors.As(err, &ae) {
				o.refused.Store(ae)
			}
		}
		for id, ok := range res.acks {
			if ok {
				delete(pending, id)
			}
		}
		if len(pending) == 0 {
			return out
		}
		if !time.Now().Before(deadline) {
			for id := range pending {
				out[id] = &lostAckError{id: id}
				if lastErr != nil {
					out[id] = fmt.Errorf("%w (last ack query: %w)", out[id], lastErr)
				}
			}
			o.log.Warn("splunk HEC acks not received in time; sending those events again", "ack_ids", len(pending), "timeout", o.ackTimeout)
			return out
		}
		select {
		case <-ctx.Done():
			for id := range pending {
				out[id] = fmt.Errorf("waiting for splunk HEC ack %d: %w", id, ctx.Err())
			}
			return out
		case <-time.After(o.pollInterval):
		}
	}
}

type ackAnswer struct {
	acks map[int64]bool
	text string
	code int
}

// doAck queries /services/collector/ack: {"acks":[0,1]} -> {"acks":{"0":true,"1":false}}.
func (o *Output) doAck(ctx context.Context, q []byte) (ackAnswer, int, http.Header, error) {
	ans := ackAnswer{acks: map[int64]bool{}}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.ackURL, bytes.NewReader(q))
	if err != nil {
		return ans, 0, nil, fmt.Errorf("splunk HEC ack request: %w", err)
	}
	req.Header.Set("Authorization", o.auth)
	req.Header.Set("X-Splunk-Request-Channel", o.channel)
	req.Header.Set("Content-Type", "application/json")
	resp, err := o.client.Do(req)
	if err != nil {
		return ans, 0, nil, fmt.Errorf("splunk HEC ack: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Acks map[string]bool `json:"acks"`
		Text string          `json:"text"`
		Code int             `json:"code"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body)
	for k, v := range body.Acks {
		if id, err := strconv.ParseInt(k, 10, 64); err == nil {
			ans.acks[id] = v
		}
	}
	ans.text, ans.code = body.Text, body.Code
	return ans, resp.StatusCode, resp.Header, nil
}
