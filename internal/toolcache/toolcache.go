// Package toolcache builds the third-party programs the tests run (MinIO, Helm,
// kube-apiserver, etcd) once per
// machine from the Go module proxy, into a per-user cache keyed by version, so a fresh CI
// machine needs nothing but Go and a warm one builds nothing.
package toolcache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// Tool is one program built with `go install Package@Version`, or with `go build` in a
// wrapper module of this repository (ModuleDir) for programs whose own module cannot be
// installed that way (k8s.io/kubernetes replaces its staging modules with local paths).
type Tool struct {
	Name    string // cache directory prefix, e.g. "minio"
	Package string // the main package, e.g. "github.com/minio/minio"
	Version string // a module version; the cache is keyed by it
	Bin     string // the binary go install writes, e.g. "minio"
	// ModuleDir, when set, is a directory of this repository (relative to its root) holding
	// a module with its own go.mod whose main package is the tool; it is built there with
	// `go build` (no workspace, go.sum read-only) and Package only names it in messages.
	ModuleDir string
	// Timeout bounds one build (several minutes on 2 cores for large modules).
	Timeout time.Duration
}

// Path returns where the tool's binary lives once built:
// <user cache dir>/auditship/<Name>-<Version>/bin/<Bin>.
func (t Tool) Path() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locate user cache dir for %s: %w", t.Name, err)
	}
	return filepath.Join(cache, "auditship", t.Name+"-"+t.Version, "bin", t.Bin), nil
}

// Install returns the path of the tool's binary, building it first when it is missing.
// Concurrent callers (parallel test packages) serialise on a lock file, so the build
// happens once; build output goes to progress.
func (t Tool) Install(ctx context.Context, progress io.Writer) (string, error) {
	bin, err := t.Path()
	if err != nil {
		return "", err
	}
	if isExecutable(bin) {
		return bin, nil
	}
	versionDir := filepath.Dir(filepath.Dir(bin))
	if err := os.MkdirAll(versionDir, 0o700); err != nil {
		return "", fmt.Errorf("create %s cache dir: %w", t.Name, err)
	}
	unlock, err := LockFile(ctx, filepath.Join(versionDir, "install.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another process may have finished the build while we waited for the lock.
	if isExecutable(bin) {
		return bin, nil
	}
	if err := t.goInstall(ctx, versionDir, bin, progress); err != nil {
		return "", err
	}
	return bin, nil
}

// goInstall builds into a scratch GOBIN and renames the result into place, so an
// interrupted build never leaves a half-written binary at the cached path.
func (t Tool) goInstall(ctx context.Context, versionDir, bin string, progress io.Writer) error {
	gobin, err := os.MkdirTemp(versionDir, "build-")
	if err != nil {
		return fmt.Errorf("create %s build dir: %w", t.Name, err)
	}
	defer os.RemoveAll(gobin)
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("find the go tool to build %s: %w", t.Name, err)
	}
	timeout := t.Timeout
	if timeout == 0 {
		timeout = 20 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pkg := t.Package + "@" + t.Version
	fmt.Fprintf(progress, "toolcache: building %s (first run only; may take minutes)\n", pkg)
	start := time.Now()
	cmd := exec.CommandContext(ctx, goTool, "install", pkg)
	// Outside any module, so the caller's go.mod/go.work cannot influence the build.
	cmd.Dir = gobin
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOWORK=off", "GOFLAGS=-buildvcs=false")
	if t.ModuleDir != "" {
		dir, err := repoDir(t.ModuleDir)
		if err != nil {
			return err
		}
		// The wrapper module alone decides what is built: no workspace, no go.sum updates.
		cmd = exec.CommandContext(ctx, goTool, "build", "-o", filepath.Join(gobin, t.Bin), ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	}
	cmd.Stdout = progress
	cmd.Stderr = progress
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("build %s: timed out after %s", pkg, timeout)
		}
		return fmt.Errorf("build %s: %w", pkg, err)
	}
	fmt.Fprintf(progress, "toolcache: built %s in %s\n", pkg, time.Since(start).Round(time.Second))
	if err := os.MkdirAll(filepath.Dir(bin), 0o700); err != nil {
		return fmt.Errorf("create %s bin dir: %w", t.Name, err)
	}
	if err := os.Rename(filepath.Join(gobin, t.Bin), bin); err != nil {
		return fmt.Errorf("move built %s into the cache: %w", t.Name, err)
	}
	return nil
}

// repoDir resolves a directory of this repository from the path the compiler recorded
// for this file: the tests run from a checkout, where it exists.
func repoDir(rel string) (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("locate the repository: runtime.Caller failed")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "..", filepath.FromSlash(rel))
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", fmt.Errorf("wrapper module %s: %w", rel, err)
	}
	return dir, nil
}

// IsExecutable reports whether p is a regular file with an execute bit.
func IsExecutable(p string) bool { return isExecutable(p) }

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// The tools the tests build, pinned; the cache is keyed by these versions.
var (
	// MinIO is the S3 server of the object-store integration tests.
	MinIO = Tool{Name: "minio", Package: "github.com/minio/minio", Version: "v0.0.0-20260212201848-7aac2a2c5b7c", Bin: "minio", Timeout: 20 * time.Minute}
	// Helm lints and renders the chart under deploy/helm.
	Helm = Tool{Name: "helm", Package: "helm.sh/helm/v3/cmd/helm", Version: "v3.22.0", Bin: "helm", Timeout: 20 * time.Minute}
	// KubeAPIServer is the API server of the end-to-end tests (internal/testing/kube):
	// k8s.io/kubernetes v1.37.2 with its staging modules replaced by their v0.37.2
	// releases. 6-10 minutes of CPU on 2 cores, a 170 MB binary.
	KubeAPIServer = Tool{Name: "kube-apiserver", Package: "k8s.io/kubernetes/cmd/kube-apiserver", Version: "v1.37.2",
		Bin: "kube-apiserver", ModuleDir: "internal/testing/kube/build/apiserver", Timeout: 40 * time.Minute}
	// Etcd stores the end-to-end tests' API server's objects.
	Etcd = Tool{Name: "etcd", Package: "go.etcd.io/etcd/server/v3/etcdmain", Version: "v3.6.16",
		Bin: "etcd", ModuleDir: "internal/testing/kube/build/etcd", Timeout: 20 * time.Minute}
)

// All lists every tool, for CI to build up front.
func All() []Tool { return []Tool{MinIO, Helm, Etcd, KubeAPIServer} }
