// Package kube runs a real kube-apiserver, backed by a real etcd, for auditship's
// end-to-end tests: it builds both once per machine from the Go module proxy into the
// per-user cache (internal/toolcache), starts them per test on free 127.0.0.1 ports with
// the audit policy and backends the test asks for, drives realistic traffic at them
// (Driver) and runs a kube-audit-rest style admission webhook (AdmissionRecorder).
//
// The programs are built from wrapper modules with their own go.mod under build/, so the
// auditship module itself never depends on Kubernetes.
package kube

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/auditship/auditship/internal/toolcache"
)

const (
	// APIServerBinEnv and EtcdBinEnv name prebuilt binaries to use instead of the cache.
	APIServerBinEnv = "AUDITSHIP_KUBE_APISERVER_BIN"
	EtcdBinEnv      = "AUDITSHIP_ETCD_BIN"

	// InstallTimeout bounds building both: kube-apiserver takes 6-10 minutes of CPU on 2
	// cores, far longer on a shared machine.
	InstallTimeout = 60 * time.Minute
)

// Binaries are the paths of the two programs a Cluster runs.
type Binaries struct {
	APIServer string
	Etcd      string
}

var tools = []struct {
	tool toolcache.Tool
	env  string
	dst  func(*Binaries) *string
}{
	{toolcache.Etcd, EtcdBinEnv, func(b *Binaries) *string { return &b.Etcd }},
	{toolcache.KubeAPIServer, APIServerBinEnv, func(b *Binaries) *string { return &b.APIServer }},
}

// Install returns kube-apiserver and etcd, building whichever is missing from the cache
// (toolcache.KubeAPIServer, toolcache.Etcd; parallel callers wait on a lock, so each is
// built once per machine). $AUDITSHIP_KUBE_APISERVER_BIN and $AUDITSHIP_ETCD_BIN name
// prebuilt binaries instead. Build output goes to progress.
func Install(ctx context.Context, progress io.Writer) (Binaries, error) {
	var b Binaries
	for _, x := range tools {
		p := os.Getenv(x.env)
		if p != "" {
			if !toolcache.IsExecutable(p) {
				return b, fmt.Errorf("%s=%s: not an executable file", x.env, p)
			}
		} else {
			var err error
			if p, err = x.tool.Install(ctx, progress); err != nil {
				return b, err
			}
		}
		*x.dst(&b) = p
	}
	return b, nil
}

// cachedBinaries returns the binaries if they are already built (or named by the
// environment), else an error saying which is missing.
func cachedBinaries() (Binaries, error) {
	var b Binaries
	for _, x := range tools {
		p := os.Getenv(x.env)
		if p == "" {
			var err error
			if p, err = x.tool.Path(); err != nil {
				return b, err
			}
		}
		if !toolcache.IsExecutable(p) {
			return b, fmt.Errorf("%s not built at %s", x.tool.Name, p)
		}
		*x.dst(&b) = p
	}
	return b, nil
}
