package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/testing/estest"
)

const bulkBody = `{"create":{"_index":"audit","_id":"1"}}` + "\n" + `{"verb":"get"}` + "\n"

func bulk(t *testing.T, url string) (*http.Response, error) {
	t.Helper()
	// A fresh connection each time: a kept-alive one would outlive the node's restart.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	req, err := http.NewRequest(http.MethodPost, url+"/_bulk", strings.NewReader(bulkBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	return c.Do(req)
}

// TestOutage: the first bulk request fails the way the mode says, and once the outage is
// over the node indexes again on the same URL.
func TestOutage(t *testing.T) {
	for _, tc := range []struct {
		mode string
		// check judges the first bulk request's outcome.
		check func(t *testing.T, res *http.Response, err error)
	}{
		{"refuse", func(t *testing.T, res *http.Response, err error) {
			if err == nil {
				res.Body.Close()
				t.Fatalf("first bulk request answered %s; want the connection closed unanswered", res.Status)
			}
		}},
		{"429", func(t *testing.T, res *http.Response, err error) {
			if err != nil {
				t.Fatalf("first bulk request: %v; want a 429", err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "2" {
				t.Fatalf("first bulk request: %s, Retry-After %q; want 429 with Retry-After 2",
					res.Status, res.Header.Get("Retry-After"))
			}
		}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			faults, err := outageFaults(tc.mode, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			srv, err := estest.Start(estest.Options{Seed: 1, Faults: faults})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			done := make(chan struct{})
			go func() {
				defer close(done)
				runOutage(srv, 100*time.Millisecond, tc.mode, make(chan struct{}))
			}()

			res, err := bulk(t, srv.URL)
			tc.check(t, res, err)
			<-done
			if n := srv.Count("*"); n != 0 {
				t.Fatalf("%d documents indexed during the outage", n)
			}

			res, err = bulk(t, srv.URL)
			if err != nil {
				t.Fatalf("bulk request after the outage: %v", err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK || srv.Count("*") != 1 {
				t.Fatalf("after the outage: %s, %d documents; want 200 and 1", res.Status, srv.Count("*"))
			}
		})
	}
}

func TestOutageFaultsRejectsUnknownMode(t *testing.T) {
	if _, err := outageFaults("503", time.Second); err == nil {
		t.Fatal("outageFaults accepted mode 503")
	}
}
