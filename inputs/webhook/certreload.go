package webhook

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// certRecheck is how often the serving certificate's files are looked at again.
const certRecheck = 10 * time.Second

// certReloader serves the certificate of cert_file and key_file and loads them again when
// either file's modification time or size changes, so a rotated certificate (cert-manager
// renewing a mounted Secret) is served without a restart. A pair that fails to load
// (rotation caught half-way, a key that does not match) is logged and the previous one
// kept; it is tried again at the next check.
type certReloader struct {
	certFile, keyFile string
	every             time.Duration
	log               hclog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string // modification times and sizes of both files when cert was loaded
	checked time.Time
}

func newCertReloader(certFile, keyFile string, log hclog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, every: certRecheck, log: log}
	stamp, err := r.stampNow()
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: cannot load cert_file and key_file: %w", err)
	}
	r.cert, r.stamp, r.checked = &cert, stamp, time.Now()
	return r, nil
}

func (r *certReloader) stampNow() (string, error) {
	var s string
	for _, p := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		s += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return s, nil
}

// get is tls.Config.GetCertificate.
func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) < r.every {
		return r.cert, nil
	}
	r.checked = time.Now()
	stamp, err := r.stampNow()
	if err != nil || stamp == r.stamp {
		if err != nil {
			r.log.Warn("tls: cannot stat the serving certificate files; serving the loaded certificate", "error", err)
		}
		return r.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.log.Warn("tls: the changed cert_file/key_file cannot be loaded; serving the previous certificate", "error", err)
		return r.cert, nil
	}
	r.cert, r.stamp = &cert, stamp
	r.log.Info("tls: serving the renewed certificate", "cert_file", r.certFile)
	return r.cert, nil
}
