// Package miniotest runs a real MinIO server for integration tests: it builds the pinned
// MinIO version once into a per-user cache (go install, several minutes the first time),
// then starts throwaway servers on random 127.0.0.1 ports with temporary data directories.
package miniotest

import (
	"context"
	"fmt"
	"io"
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

// Install returns the path of the MinIO binary, building it with `go install` first when it
// is missing. Concurrent callers (parallel test packages) serialise on a lock file, so the
// build happens once. Build output goes to progress.
func Install(ctx context.Context, progress io.Writer) (string, error) {
	if p := os.Getenv(BinEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", BinEnv, p, err)
		}
		return p, nil
	}
	return tool.Install(ctx, progress)
}
