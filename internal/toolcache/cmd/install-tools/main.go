// Command install-tools builds every pinned test tool (MinIO, Helm, etcd, kube-apiserver)
// into the user cache, as the tests would on first use, and prints their paths, so CI can
// do it up front.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/auditship/auditship/internal/toolcache"
)

func main() {
	for _, t := range toolcache.All() {
		bin, err := t.Install(context.Background(), os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "install-tools:", err)
			os.Exit(1)
		}
		fmt.Println(bin)
	}
}
