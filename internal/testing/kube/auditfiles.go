package kube

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// AuditFiles lists the audit log and its rotated backups (audit-<time>.log and
// audit-<time>.log.gz, lumberjack's names), oldest first, live file last.
func (c *Cluster) AuditFiles() ([]string, error) {
	dir := filepath.Dir(c.AuditLog)
	base := strings.TrimSuffix(filepath.Base(c.AuditLog), ".log")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list audit dir: %w", err)
	}
	var backups []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, base+"-") && (strings.HasSuffix(n, ".log") || strings.HasSuffix(n, ".log.gz")) {
			backups = append(backups, filepath.Join(dir, n))
		}
	}
	sort.Strings(backups) // the timestamp in the name sorts chronologically
	return append(backups, c.AuditLog), nil
}

// AuditLines stops the cluster (so every event is written) and returns the lines of its
// audit log and backups, oldest first.
func (c *Cluster) AuditLines() ([][]byte, error) {
	c.Stop()
	files, err := c.AuditFiles()
	if err != nil {
		return nil, err
	}
	return ReadLines(files)
}

// ReadLines returns the lines of the files in order, gunzipping .gz files: the ground
// truth of what the API server wrote. A missing live file counts as empty.
func ReadLines(files []string) ([][]byte, error) {
	var out [][]byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(p, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			if len(sc.Bytes()) > 0 {
				out = append(out, append([]byte(nil), sc.Bytes()...))
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return out, nil
}

// WebhookReceiver takes the audit webhook backend's POSTs (audit.k8s.io/v1 EventLists)
// on plain HTTP at 127.0.0.1 and keeps each body.
type WebhookReceiver struct {
	// URL is the server URL for Options.WebhookURL.
	URL string
	srv *http.Server

	mu      sync.Mutex
	batches [][]byte
}

// StartWebhookReceiver starts a receiver.
func StartWebhookReceiver() (*WebhookReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	w := &WebhookReceiver{URL: "http://" + ln.Addr().String() + "/audit"}
	w.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, "read", http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.batches = append(w.batches, b)
		w.mu.Unlock()
		rw.WriteHeader(http.StatusOK)
	})}
	go func() { _ = w.srv.Serve(ln) }()
	return w, nil
}

// Batches returns the bodies received so far.
func (w *WebhookReceiver) Batches() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([][]byte(nil), w.batches...)
}

// Close stops the receiver.
func (w *WebhookReceiver) Close() { _ = w.srv.Close() }
