// Package toolcache builds the third-party programs the tests run (MinIO, Helm) once per
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
	"time"
)

// Tool is one program built with `go install Package@Version`.
type Tool struct {
	Name    string // cache directory prefix, e.g. "minio"
	Package string // the main package, e.g. "github.com/minio/minio"
	Version string // a module version; the cache is keyed by it
	Bin     string // the binary go install writes, e.g. "minio"
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
	cmd := exec.CommandContext(ctx, goTool, "install", pkg)
	// Outside any module, so the caller's go.mod/go.work cannot influence the build.
	cmd.Dir = gobin
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOWORK=off", "GOFLAGS=-buildvcs=false")
	cmd.Stdout = progress
	cmd.Stderr = progress
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("go install %s: timed out after %s", pkg, timeout)
		}
		return fmt.Errorf("go install %s: %w", pkg, err)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o700); err != nil {
		return fmt.Errorf("create %s bin dir: %w", t.Name, err)
	}
	if err := os.Rename(filepath.Join(gobin, t.Bin), bin); err != nil {
		return fmt.Errorf("move built %s into the cache: %w", t.Name, err)
	}
	return nil
}

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
)

// All lists every tool, for CI to build up front.
func All() []Tool { return []Tool{MinIO, Helm} }
