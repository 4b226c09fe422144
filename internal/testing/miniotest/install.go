// Package miniotest runs a real MinIO server for integration tests: throwaway servers
// on random 127.0.0.1 ports with temporary data directories, from the pinned MinIO that
// internal/toolcache builds into a per-user cache. Tests do not build it (several
// minutes): `.ci/run` does, up front, with `go run ./internal/toolcache/cmd/install-tools`.
package miniotest

import (
	"fmt"
	"os"

	"github.com/auditship/auditship/internal/toolcache"
)

// BinEnv overrides where the MinIO binary is found (and skips the build).
const BinEnv = "AUDITSHIP_MINIO_BIN"

// tool is the pinned MinIO; Module and Version name it in messages.
var (
	tool    = toolcache.MinIO
	Module  = tool.Package
	Version = tool.Version
)

// BinaryPath returns where the pinned MinIO binary lives: $AUDITSHIP_MINIO_BIN, else
// <user cache dir>/auditship/minio-<Version>/bin/minio.
func BinaryPath() (string, error) {
	if p := os.Getenv(BinEnv); p != "" {
		return p, nil
	}
	p, err := tool.Path()
	if err != nil {
		return "", fmt.Errorf("%w (or set %s)", err, BinEnv)
	}
	return p, nil
}

// InstallCommand builds the pinned tools (MinIO among them) into the cache, as .ci/run does.
const InstallCommand = "go run ./internal/toolcache/cmd/install-tools"

// Find returns the path of the MinIO binary: $AUDITSHIP_MINIO_BIN, which must exist,
// else the cached build (BinaryPath). When there is none the error says how to install
// it.
func Find() (string, error) {
	if p := os.Getenv(BinEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", BinEnv, p, err)
		}
		return p, nil
	}
	p, err := BinaryPath()
	if err != nil {
		return "", err
	}
	if !toolcache.IsExecutable(p) {
		return "", fmt.Errorf("MinIO %s@%s is not installed at %s: run `%s` (as .ci/run does), or set %s to a MinIO binary",
			Module, Version, p, InstallCommand, BinEnv)
	}
	return p, nil
}
