package webhook

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/auditship/auditship/inputs/file"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/secretfile"
	"github.com/auditship/auditship/pipeline"
)

// Metrics is what the webhook input reports beyond config.Metrics; the agent's metrics
// implement it (auditship_webhook_*, auditship_spool_*).
type Metrics interface {
	// WebhookDeclare creates the input's series at 0, before any request.
	WebhookDeclare(input string)
	// WebhookRequest counts one answered request by its HTTP status code.
	WebhookRequest(input string, code int)
	// WebhookEventsReceived counts items appended to the spool (answered 200).
	WebhookEventsReceived(input string, n int)
	// Spool reports the spool's size, segment count and the age of its oldest segment
	// not yet delivered whole (0 when every segment is).
	Spool(input string, bytes int64, segments int, oldestUnacked time.Duration)
}

type nopMetrics struct{}

func (nopMetrics) WebhookDeclare(string)                   {}
func (nopMetrics) WebhookRequest(string, int)              {}
func (nopMetrics) WebhookEventsReceived(string, int)       {}
func (nopMetrics) Spool(string, int64, int, time.Duration) {}

// reapInterval is how often delivered segments are looked for and the spool metrics
// refreshed.
const reapInterval = 500 * time.Millisecond

// shutdownTimeout bounds how long Close waits for requests being answered.
const shutdownTimeout = 10 * time.Second

// Input is the `type: webhook` input.
type Input struct {
	cfg  Config
	name string
	log  hclog.Logger
	met  Metrics
	sp   *spool
	file *file.Input

	token     []byte // SHA-256 of the bearer token; nil when none is required
	certs     *certReloader
	clientCAs *x509.CertPool

	ln      net.Listener
	srv     *http.Server
	serving atomic.Bool
	closing atomic.Bool
	full    atomic.Bool

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// New creates the input: it recovers the spool, starts the file input over its segments
// and listens on cfg.Listen (an address in use is an error here, not later).
func New(c *Config, set config.Settings) (*Input, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	log := set.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	in := &Input{cfg: *c, name: set.Name, log: log, met: nopMetrics{}, stop: make(chan struct{})}
	if m, ok := set.Metrics.(Metrics); ok {
		in.met = m
	}
	in.met.WebhookDeclare(set.Name)
	var tlsCfg *tls.Config
	if !c.AllowPlainHTTP {
		var err error
		if tlsCfg, err = in.loadTLS(); err != nil {
			return nil, err
		}
	}
	if c.BearerTokenFile != "" {
		sum, err := readToken(c.BearerTokenFile, log)
		if err != nil {
			return nil, err
		}
		in.token = sum
	}
	dir := c.SpoolDir
	if dir == "" {
		dir = filepath.Join(set.DataDir, "spool", set.Name)
	}
	sp, err := openSpool(dir, int64(c.MaxSpoolBytes), log)
	if err != nil {
		return nil, err
	}
	in.sp = sp
	if in.file, err = spoolReader(sp, c, set); err != nil {
		return nil, err
	}
	if set.Once {
		// run --once reads what the spool holds and receives nothing.
		return in, nil
	}
	if err := in.listen(tlsCfg, dir); err != nil {
		in.file.Close()
		return nil, err
	}
	return in, nil
}

// readToken returns the SHA-256 of the bearer token in path (compared in constant time
// with a request's), logging a warning about the file's mode or owner.
func readToken(path string, log hclog.Logger) ([]byte, error) {
	raw, warning, err := secretfile.ReadCredential(path)
	if err != nil {
		return nil, fmt.Errorf("bearer_token_file: %w", err)
	}
	if warning != "" {
		log.Warn("bearer_token_file: " + warning)
	}
	tok := strings.TrimSpace(string(raw))
	if tok == "" {
		return nil, errors.New("bearer_token_file: the file is empty")
	}
	sum := sha256.Sum256([]byte(tok))
	return sum[:], nil
}

// spoolReader is the file input that reads the spool's segments from the beginning, as
// kube-apiserver audit lines, checkpointed like any file.
func spoolReader(sp *spool, c *Config, set config.Settings) (*file.Input, error) {
	fc := file.NewConfig()
	fc.Paths = []string{sp.glob()}
	fc.Format = "audit"
	fc.StartAt = "beginning"
	fc.MaxLineBytes = c.MaxRequestBytes
	fc.PollInterval = 250 * time.Millisecond
	fc.RescanInterval = time.Second
	fc.CloseInactive = time.Minute
	// Segments are deleted only once delivered whole: their checkpoint entries are
	// needed no longer, and a busy spool makes a segment every segmentAge.
	fc.PruneAfter = time.Minute
	r, err := file.New(fc, set)
	if err != nil {
		return nil, fmt.Errorf("webhook input %s: spool reader: %w", set.Name, err)
	}
	return r, nil
}

// listen opens the listener (TLS unless tlsCfg is nil) and starts serving and reaping.
func (in *Input) listen(tlsCfg *tls.Config, spoolDir string) error {
	ln, err := net.Listen("tcp", in.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	in.ln = ln
	in.srv = &http.Server{
		Handler:           in,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		// TLS handshake failures of scanners and probes are no errors of the agent.
		ErrorLog: in.log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
	}
	in.serving.Store(true)
	in.wg.Add(2)
	go in.serve()
	go in.reapLoop()
	scheme := "https"
	if tlsCfg == nil {
		scheme = "http"
	}
	in.log.Info("webhook input listening", "url", scheme+"://"+ln.Addr().String()+in.cfg.Path, "spool_dir", spoolDir)
	return nil
}

func (in *Input) loadTLS() (*tls.Config, error) {
	r, err := newCertReloader(in.cfg.TLS.CertFile, in.cfg.TLS.KeyFile, in.log)
	if err != nil {
		return nil, err
	}
	in.certs = r
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.get}
	if in.cfg.TLS.ClientCAFile != "" {
		pem, err := secretfile.ReadCertificate(in.cfg.TLS.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.client_ca_file: %s holds no PEM certificate", in.cfg.TLS.ClientCAFile)
		}
		in.clientCAs = pool
		// Verified by the handler, so that a missing certificate is answered 401 and a
		// wrong one 403 rather than a failed handshake kube-apiserver logs as a
		// connection error.
		cfg.ClientAuth = tls.RequestClientCert
	}
	return cfg, nil
}

// Addr is the address the input listens on (for tests that listen on port 0).
func (in *Input) Addr() net.Addr {
	if in.ln == nil {
		return nil
	}
	return in.ln.Addr()
}

func (in *Input) serve() {
	defer in.wg.Done()
	err := in.srv.Serve(in.ln)
	in.serving.Store(false)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		in.log.Error("webhook listener stopped", "error", err)
	}
}

func (in *Input) reapLoop() {
	defer in.wg.Done()
	t := time.NewTicker(reapInterval)
	defer t.Stop()
	for {
		in.reap()
		select {
		case <-in.stop:
			return
		case <-t.C:
		}
	}
}

func (in *Input) reap() {
	st := in.sp.reap(in.file.Saved)
	in.full.Store(st.full)
	in.met.Spool(in.name, st.bytes, st.segments, st.oldest)
}

// Read returns the next batch of spooled events.
func (in *Input) Read(ctx context.Context) (pipeline.Batch, pipeline.AckFunc, error) {
	return in.file.Read(ctx)
}

// Ready fails while the listener is not serving or the spool is full.
func (in *Input) Ready(context.Context) error {
	switch {
	case in.srv != nil && !in.serving.Load():
		return errors.New("webhook listener not serving")
	case in.sp.full():
		return errors.New("spool full (max_spool_bytes)")
	}
	return nil
}

// Close answers new requests 503, waits for those being answered, stops writing the
// spool and closes the spool reader (which writes its final checkpoint). Segments stay
// for the next start.
func (in *Input) Close() error {
	in.closeOnce.Do(func() {
		in.closing.Store(true)
		var errs []error
		if in.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			if err := in.srv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("webhook listener: %w", err))
				in.srv.Close()
			}
			cancel()
		}
		close(in.stop)
		in.wg.Wait()
		in.sp.close()
		if err := in.file.Close(); err != nil {
			errs = append(errs, err)
		}
		in.closeErr = errors.Join(errs...)
	})
	return in.closeErr
}

// bearer returns the token of an Authorization: Bearer header; ok is false when there is
// none.
func bearer(h string) (string, bool) {
	scheme, tok, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
