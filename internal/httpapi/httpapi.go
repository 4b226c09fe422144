// Package httpapi serves the agent's own endpoints: /metrics (Prometheus), /healthz
// (the process is alive and not wedged) and /readyz (inputs open, outputs reachable).
//
// The probes answer in few words: "ok", or "not ready" ("not ok" for /healthz) with one
// line per component such as "output siem: not ready". Why a component is not ready (hostnames, paths, bucket
// names, the resolver's address) is for the agent's log, not for whoever can reach the
// port. /readyz's result is cached for ReadyCacheTTL, so probing it often costs no more
// than one round of checks against the outputs.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ReadyCacheTTL is how long a /readyz result is reused. The kubelet probes every 10 s
// by default; a burst of requests makes at most one round of live checks per TTL.
const ReadyCacheTTL = 5 * time.Second

// checkTimeout bounds one round of checks.
const checkTimeout = 5 * time.Second

// Check returns nil when healthy, or why not. Its error text is served as the response
// body, so it must carry no detail beyond names from the config ("output siem: not
// ready"); the details belong in the log.
type Check func(ctx context.Context) error

// Endpoints is what one listener serves; a nil member is not served (404).
type Endpoints struct {
	Registry *prometheus.Registry
	Healthz  Check
	Readyz   Check
}

// Server is one HTTP listener.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Start listens on addr and serves e until Shutdown.
func Start(addr string, e Endpoints) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	if e.Registry != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(e.Registry, promhttp.HandlerOpts{Registry: e.Registry}))
	}
	if e.Healthz != nil {
		mux.HandleFunc("/healthz", probe(e.Healthz, "not ok"))
	}
	if e.Readyz != nil {
		mux.HandleFunc("/readyz", probe(newCached(e.Readyz, ReadyCacheTTL, time.Now).check, "not ready"))
	}
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr returns the address actually listened on (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops the server.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// probe answers "ok", or failure and the check's error on the next line.
func probe(check Check, failure string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := check(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "%s\n%v\n", failure, err)
			return
		}
		fmt.Fprintln(w, "ok")
	}
}

// cached runs a check at most once per ttl and hands its result to every caller in
// between; callers arriving while it runs wait for that run rather than start their own.
// The run has its own timeout, not a caller's context: one impatient client must not
// fail the result everyone shares.
type cached struct {
	inner Check
	ttl   time.Duration
	now   func() time.Time

	mu   sync.Mutex
	at   time.Time
	err  error
	have bool
}

func newCached(c Check, ttl time.Duration, now func() time.Time) *cached {
	return &cached{inner: c, ttl: ttl, now: now}
}

func (c *cached) check(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.have && c.now().Sub(c.at) < c.ttl {
		return c.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	run, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkTimeout)
	defer cancel()
	c.err = c.inner(run)
	c.at, c.have = c.now(), true
	return c.err
}
