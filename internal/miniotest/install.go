// Package miniotest runs a real MinIO server for integration tests: it builds the pinned
// MinIO version once into a per-user cache (go install, several minutes the first time),
// then starts throwaway servers on random 127.0.0.1 ports with temporary data directories.
package miniotest

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

const (
	// Module is the Go module MinIO is built from.
	Module = "github.com/minio/minio"
	// Version is the MinIO pseudo-version every test runs against; the cache is keyed by it.
	Version = "v0.0.0-20260212201848-7aac2a2c5b7c"
	// BinEnv overrides where the MinIO binary is found (and skips the build).
	BinEnv = "AUDITSHIP_MINIO_BIN"

	installTimeout = 20 * time.Minute
)

// BinaryPath returns where the pinned MinIO binary lives: $AUDITSHIP_MINIO_BIN, else
// <user cache dir>/auditship/minio-<Version>/bin/minio.
func BinaryPath() (string, error) {
	if p := os.Getenv(BinEnv); p != "" {
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locate user cache dir for the minio binary (or set %s): %w", BinEnv, err)
	}
	return filepath.Join(cache, "auditship", "minio-"+Version, "bin", "minio"), nil
}

// Install returns the path of the MinIO binary, building it with `go install` first when it
// is missing. Concurrent callers (parallel test packages) serialise on a lock file, so the
// build happens once. Build output goes to progress.
func Install(ctx context.Context, progress io.Writer) (string, error) {
	bin, err := BinaryPath()
	if err != nil {
		return "", err
	}
	if os.Getenv(BinEnv) != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("%s=%s: %w", BinEnv, bin, err)
		}
		return bin, nil
	}
	if isExecutable(bin) {
		return bin, nil
	}
	versionDir := filepath.Dir(filepath.Dir(bin))
	if err := os.MkdirAll(versionDir, 0o700); err != nil {
		return "", fmt.Errorf("create minio cache dir: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(versionDir, "install.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another process may have finished the build while we waited for the lock.
	if isExecutable(bin) {
		return bin, nil
	}
	if err := goInstall(ctx, versionDir, bin, progress); err != nil {
		return "", err
	}
	return bin, nil
}

// goInstall builds into a scratch GOBIN and renames the result into place, so an
// interrupted build never leaves a half-written binary at the cached path.
func goInstall(ctx context.Context, versionDir, bin string, progress io.Writer) error {
	gobin, err := os.MkdirTemp(versionDir, "build-")
	if err != nil {
		return fmt.Errorf("create minio build dir: %w", err)
	}
	defer os.RemoveAll(gobin)
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("find the go tool to build minio: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	pkg := Module + "@" + Version
	fmt.Fprintf(progress, "miniotest: building %s (first run only; takes several minutes)\n", pkg)
	cmd := exec.CommandContext(ctx, goTool, "install", pkg)
	// Outside any module, so the caller's go.mod/go.work cannot influence the build.
	cmd.Dir = gobin
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOWORK=off", "GOFLAGS=-buildvcs=false")
	cmd.Stdout = progress
	cmd.Stderr = progress
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("go install %s: timed out after %s", pkg, installTimeout)
		}
		return fmt.Errorf("go install %s: %w", pkg, err)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o700); err != nil {
		return fmt.Errorf("create minio bin dir: %w", err)
	}
	if err := os.Rename(filepath.Join(gobin, "minio"), bin); err != nil {
		return fmt.Errorf("move built minio into the cache: %w", err)
	}
	return nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
