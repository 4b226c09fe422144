// Command esnode runs the in-repo Elasticsearch stand-in (outputs/elasticsearch/estest) on
// 127.0.0.1 for bench/run.sh: it prints the node's URL on its first line, serves until its
// standard input closes, then prints how many documents it holds.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/auditship/auditship/outputs/elasticsearch/estest"
)

func main() {
	srv, err := estest.Start(estest.Options{Seed: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "esnode:", err)
		os.Exit(1)
	}
	fmt.Println(srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	fmt.Fprintf(os.Stderr, "esnode: %d documents\n", srv.Count("*"))
	srv.Close()
}
