// Command auditship-gen writes a deterministic, realistic Kubernetes audit log (or
// kube-audit-rest log) for demos, tests and benchmarks.
//
//	auditship-gen -events 100000 -o audit.log
//	auditship-gen -bytes 300MiB -format kube-audit-rest -seed 7 -o kar.log
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/internal/gen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "auditship-gen:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("auditship-gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	events := fs.Int("events", 0, "number of events to write")
	size := fs.String("bytes", "", "write whole events until at least this much was written (e.g. 300MiB)")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same events")
	format := fs.String("format", "audit", "audit | kube-audit-rest")
	out := fs.String("o", "-", "output file (- for stdout); created 0600")
	canaries := fs.Bool("canaries", false, "start every secret value with "+gen.CanaryPrefix+" (leak tests)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*events > 0) == (*size != "") {
		return fmt.Errorf("give exactly one of -events N or -bytes SIZE")
	}
	f, err := gen.ParseFormat(*format)
	if err != nil {
		return fmt.Errorf("-format: %w", err)
	}
	var limit config.ByteSize
	if *size != "" {
		if limit, err = config.ParseByteSize(*size); err != nil {
			return fmt.Errorf("-bytes: %w", err)
		}
	}
	g := gen.New(*seed).WithFormat(f).WithCanaries(*canaries)

	w := stdout
	var file *os.File
	if *out != "-" {
		if file, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return fmt.Errorf("open output: %w", err)
		}
		w = file
	}
	var n int
	var written int64
	if *events > 0 {
		n = *events
		written, err = g.WriteEvents(w, n)
	} else {
		n, err = g.WriteBytes(w, int64(limit))
		written = int64(limit)
	}
	if err == nil && file != nil {
		err = file.Sync()
	}
	if file != nil {
		if cerr := file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close output: %w", cerr)
		}
	}
	if err != nil {
		return err
	}
	if *events > 0 {
		fmt.Fprintf(stderr, "wrote %d events (%d bytes)\n", n, written)
	} else {
		fmt.Fprintf(stderr, "wrote %d events (at least %d bytes)\n", n, written)
	}
	return nil
}
