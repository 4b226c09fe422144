package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReadyzCached: a burst of probes costs one round of checks per TTL, concurrent
// callers share the run in progress, and the result is renewed once the TTL has passed.
func TestReadyzCached(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	now := time.Unix(0, 0)
	var clock sync.Mutex
	c := newCached(func(context.Context) error {
		calls.Add(1)
		<-release
		return errors.New("output siem: not ready")
	}, ReadyCacheTTL, func() time.Time { clock.Lock(); defer clock.Unlock(); return now })

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- c.check(context.Background()) }()
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err == nil || err.Error() != "output siem: not ready" {
			t.Fatalf("err = %v", err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("50 concurrent probes ran the check %d times, want 1", n)
	}
	clock.Lock()
	now = now.Add(ReadyCacheTTL - time.Nanosecond)
	clock.Unlock()
	_ = c.check(context.Background())
	if n := calls.Load(); n != 1 {
		t.Fatalf("within the TTL the check ran again (%d)", n)
	}
	clock.Lock()
	now = now.Add(time.Nanosecond)
	clock.Unlock()
	_ = c.check(context.Background())
	if n := calls.Load(); n != 2 {
		t.Fatalf("after the TTL: %d runs, want 2", n)
	}
}

// TestProbeBodies: the probes answer in few words and a listener serves only what it was
// given.
func TestProbeBodies(t *testing.T) {
	srv, err := Start("127.0.0.1:0", Endpoints{
		Healthz: func(context.Context) error { return nil },
		Readyz:  func(context.Context) error { return errors.New("output siem: not ready") },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 503 || body != "not ready\noutput siem: not ready\n" {
		t.Fatalf("/readyz = %d %q", code, body)
	}
	if code, _ := get("/metrics"); code != 404 {
		t.Fatalf("/metrics on a probes-only listener = %d, want 404", code)
	}
	if !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
		t.Fatal(srv.Addr())
	}
}
