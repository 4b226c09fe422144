// Command install-minio builds the pinned MinIO test server into the user cache (as the
// integration tests would on first use) and prints its path, so CI can do it up front.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/auditship/auditship/internal/miniotest"
)

func main() {
	bin, err := miniotest.Install(context.Background(), os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "install-minio:", err)
		os.Exit(1)
	}
	fmt.Println(bin)
}
