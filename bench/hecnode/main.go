// Command hecnode runs the in-repo Splunk HTTP Event Collector stand-in
// (internal/testing/hectest) on 127.0.0.1 for bench/run.sh: it prints the collector's URL
// on its first line, serves until its standard input closes, then logs how many events it
// indexed ("hecnode: N events"). The token it accepts is -token (bench/bench-splunkhec.yaml
// sends the same one); indexer acknowledgement is off, as on a token without
// "Enable indexer acknowledgement".
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/auditship/auditship/internal/testing/hectest"
)

func main() {
	token := flag.String("token", "auditship-bench", "the one HEC token the collector accepts")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("hecnode: ")

	srv := hectest.Start(*token)
	fmt.Println(srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	total, gzipped := srv.Requests()
	log.Printf("%d event requests, %d gzipped", total, gzipped)
	log.Printf("%d events", len(srv.Events()))
	srv.Close()
}
