package webhook

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/klauspost/compress/gzip"
)

// ServeHTTP answers one POST of kube-apiserver's webhook backend. The codes, in the order
// they are decided: 404 another path, 405 not POST, 401 no client certificate or token
// where one is required, 403 a wrong one, 503 shutting down, 429 spool full (with
// Retry-After), 415 not JSON or an unknown Content-Encoding, 413 a body (after gzip)
// over max_request_bytes, 400 not an EventList, 500 the spool cannot be written, 200
// every item appended and fsynced.
func (in *Input) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code, msg := in.answer(w, r)
	in.met.WebhookRequest(in.name, code)
	if code != http.StatusOK {
		http.Error(w, msg, code)
		return
	}
	w.WriteHeader(code)
}

func (in *Input) answer(w http.ResponseWriter, r *http.Request) (int, string) {
	if r.URL.Path != in.cfg.Path {
		return http.StatusNotFound, "not found"
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return http.StatusMethodNotAllowed, "POST an audit.k8s.io EventList"
	}
	if code, msg := in.authorize(w, r); code != 0 {
		return code, msg
	}
	if in.closing.Load() {
		w.Header().Set("Retry-After", "1")
		return http.StatusServiceUnavailable, "shutting down"
	}
	if in.sp.full() {
		w.Header().Set("Retry-After", "5")
		return http.StatusTooManyRequests, "spool full"
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return http.StatusUnsupportedMediaType, "Content-Type must be application/json"
		}
	}
	body, code, msg := in.readBody(w, r)
	if code != 0 {
		return code, msg
	}
	items, err := DecodeEventList(body)
	if err != nil {
		// The error names the structure at fault, never the body's content.
		in.log.Warn("webhook request rejected", "remote", r.RemoteAddr, "bytes", len(body), "error", err)
		return http.StatusBadRequest, "body is not an audit.k8s.io/v1 EventList"
	}
	if len(items) == 0 {
		return http.StatusOK, ""
	}
	switch err := in.sp.append(items); {
	case errors.Is(err, errSpoolFull):
		w.Header().Set("Retry-After", "5")
		return http.StatusTooManyRequests, "spool full"
	case err != nil:
		in.log.Error("cannot spool a webhook request; answered 500 so kube-apiserver sends it again", "events", len(items), "error", err)
		return http.StatusInternalServerError, "cannot spool the events"
	}
	in.met.WebhookEventsReceived(in.name, len(items))
	return http.StatusOK, ""
}

// authorize returns 0 when the request may be served, else 401 (nothing presented) or
// 403 (something wrong presented). A token is compared as its SHA-256 in constant time.
func (in *Input) authorize(w http.ResponseWriter, r *http.Request) (int, string) {
	if in.clientCAs != nil {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return http.StatusUnauthorized, "a client certificate is required"
		}
		inter := x509.NewCertPool()
		for _, c := range r.TLS.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err := r.TLS.PeerCertificates[0].Verify(x509.VerifyOptions{
			Roots: in.clientCAs, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}); err != nil {
			in.log.Warn("webhook request with a client certificate not signed by client_ca_file", "remote", r.RemoteAddr, "error", err)
			return http.StatusForbidden, "client certificate not accepted"
		}
	}
	if in.token != nil {
		tok, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="auditship"`)
			return http.StatusUnauthorized, "a bearer token is required"
		}
		sum := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(sum[:], in.token) != 1 {
			in.log.Warn("webhook request with a wrong bearer token", "remote", r.RemoteAddr)
			return http.StatusForbidden, "bearer token not accepted"
		}
	}
	return 0, ""
}

// readBody reads the body, decompressing gzip, bounded by max_request_bytes on both
// sides of the decompression (a small gzip body may expand without end).
func (in *Input) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, string) {
	max := int64(in.cfg.MaxRequestBytes)
	if r.ContentLength > max {
		return nil, http.StatusRequestEntityTooLarge, "body over max_request_bytes"
	}
	var src io.Reader = http.MaxBytesReader(w, r.Body, max)
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			if tooLarge(err) {
				return nil, http.StatusRequestEntityTooLarge, "body over max_request_bytes"
			}
			return nil, http.StatusBadRequest, "body is not gzip"
		}
		defer zr.Close()
		src = zr
	default:
		return nil, http.StatusUnsupportedMediaType, "Content-Encoding must be gzip or none"
	}
	body, err := io.ReadAll(io.LimitReader(src, max+1))
	switch {
	case tooLarge(err) || int64(len(body)) > max:
		return nil, http.StatusRequestEntityTooLarge, "body over max_request_bytes"
	case err != nil:
		in.log.Warn("webhook request body cannot be read", "remote", r.RemoteAddr, "error", err)
		return nil, http.StatusBadRequest, "body cannot be read"
	}
	return body, 0, ""
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
