// Command etcd is etcd v3.6 built from go.etcd.io/etcd/server/v3, the storage behind the
// kube-apiserver of auditship's end-to-end tests (see internal/testing/kube). Same entry
// point as etcd's own main.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
