// Command naive is the baseline of the throughput benchmark: the pipeline anyone would
// write first (bufio.Scanner, encoding/json into a map, json.Marshal), file to file, with
// no filters. bench/run.sh times it in the same run as the agent.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

func main() {
	in := flag.String("in", "", "input NDJSON file")
	out := flag.String("out", "", "output NDJSON file (created 0600)")
	flag.Parse()
	n, err := run(*in, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "naive:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "naive: %d events\n", n)
}

func run(inPath, outPath string) (int, error) {
	in, err := os.Open(inPath)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", inPath, err)
	}
	defer in.Close()
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", outPath, err)
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 1<<20)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	n := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			continue // counted nowhere: the baseline only has to be as fast as it can be
		}
		b, err := json.Marshal(m)
		if err != nil {
			return n, fmt.Errorf("encode event %d: %w", n, err)
		}
		w.Write(b)
		w.WriteByte('\n')
		n++
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("read %s: %w", inPath, err)
	}
	if err := w.Flush(); err != nil {
		return n, fmt.Errorf("write %s: %w", outPath, err)
	}
	return n, out.Sync()
}
