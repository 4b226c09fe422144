// Command esnode runs the in-repo Elasticsearch stand-in (internal/testing/estest) on
// 127.0.0.1 for bench/run.sh: it prints the node's URL on its first line, serves until its
// standard input closes, then logs how many documents it holds ("esnode: N documents").
//
// With -outage D the node fails every bulk request for D, counted from the first bulk
// request, then recovers, so the bench can measure the agent's memory through an outage
// and check that every event still arrives. -outage-mode picks what the outage looks
// like:
//
//   - refuse (default): the node goes away. The first bulk request's connection is closed
//     without an answer, then the listener is closed, so every retry meets "connection
//     refused", as during a node restart, a crash, a rolling upgrade or a lost route:
//     the outages an agent in front of a single address sees most and for longest.
//   - 429: the node stays up and answers every bulk request with 429
//     es_rejected_execution_exception and a Retry-After of -retry-after, as an
//     overloaded cluster sheds load. The agent is told when to come back instead of
//     having to back off blindly.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/auditship/auditship/internal/testing/estest"
)

func main() {
	outage := flag.Duration("outage", 0, "fail every bulk request for this long from the first one, then recover (0: no outage)")
	mode := flag.String("outage-mode", "refuse", "refuse (node down: connections dropped and refused) or 429 (every bulk rejected with 429 and Retry-After)")
	retryAfter := flag.Duration("retry-after", 5*time.Second, "Retry-After sent with the 429s of -outage-mode 429")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("esnode: ")

	start, err := outageFaults(*mode, *retryAfter)
	if err != nil {
		log.Fatal(err)
	}
	if *outage <= 0 {
		start = estest.Faults{}
	}
	srv, err := estest.Start(estest.Options{Seed: 1, Faults: start})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(srv.URL)

	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	if *outage > 0 {
		runOutage(srv, *outage, *mode, stdinClosed)
	}
	<-stdinClosed
	st := srv.Stats()
	log.Printf("%d bulk requests, %d rejected with 429, %d dropped", st.BulkRequests, st.Rejected429, st.Dropped)
	log.Printf("%d documents", srv.Count("*"))
	srv.Close()
}

// outageFaults are the faults an outage of mode starts with. They are active from the
// start, so that the first bulk request already fails: a request the node answered before
// the outage began would make the outage start at a different point from run to run.
func outageFaults(mode string, retryAfter time.Duration) (estest.Faults, error) {
	switch mode {
	case "refuse":
		return estest.Faults{DropRate: 1}, nil
	case "429":
		return estest.Faults{RequestReject429Rate: 1, RetryAfter: retryAfter}, nil
	}
	return estest.Faults{}, fmt.Errorf("-outage-mode %q: want refuse or 429", mode)
}

// runOutage waits for the first bulk request (which the starting faults already fail),
// keeps the node failing for d, then brings it back. It returns early when stdin closes.
func runOutage(srv *estest.Server, d time.Duration, mode string, stdinClosed <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stdinClosed:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := srv.WaitBulk(ctx, 1); err != nil {
		log.Printf("no bulk request came, so no outage")
		return
	}
	began := time.Now()
	if mode == "refuse" {
		srv.Down()
	}
	log.Printf("outage (%s) for %s from the first bulk request", mode, d)
	select {
	case <-time.After(d):
	case <-ctx.Done():
		log.Printf("stopped during the outage")
		return
	}
	srv.SetFaults(estest.Faults{})
	if mode == "refuse" {
		if err := srv.Up(); err != nil {
			log.Fatalf("end of outage: %v", err)
		}
	}
	st := srv.Stats()
	if mode == "refuse" {
		log.Printf("back after %s; %d bulk requests dropped, then connections refused",
			time.Since(began).Round(time.Millisecond), st.Dropped)
	} else {
		log.Printf("back after %s; %d bulk requests rejected with 429",
			time.Since(began).Round(time.Millisecond), st.Rejected429)
	}
}
