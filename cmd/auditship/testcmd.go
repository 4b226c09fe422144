package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/inputs/file"
	"github.com/auditship/auditship/internal/analyze"
	"github.com/auditship/auditship/internal/config"
	"github.com/auditship/auditship/metrics"
	"github.com/auditship/auditship/pipeline"
)

// maxTestLine bounds one sample line; longer ones are counted as skipped.
const maxTestLine = 64 << 20

func newTestCmd(f config.Factories) *cobra.Command {
	var (
		path   string
		inputs []string
		format string
		output string
	)
	cmd := &cobra.Command{
		Use:   "test -c FILE [--input F]... [--output NAME]",
		Short: "Run the config's filters over sample lines; survivors to stdout, a summary to stderr",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m := metrics.New()
			a, err := checkConfig(path, f, m)
			if err != nil {
				return err
			}
			chain := a.Filters
			if output != "" {
				oc, ok := a.OutputFilters[output]
				if !ok {
					return usageErr(fmt.Errorf("--output %q: no such output in %s", output, path))
				}
				chain = append(chain, oc...)
			}
			if format == "" {
				format = "auto"
			}
			dec, err := decode.New(format)
			if err != nil {
				return usageErr(fmt.Errorf("--format: %w", err))
			}
			t := &tester{chain: chain, dec: dec, m: m, out: bufio.NewWriterSize(cmd.OutOrStdout(), 256<<10), maxLine: lineLimit(a.Config)}
			if len(inputs) == 0 {
				inputs = []string{"-"}
			}
			for _, in := range inputs {
				if err := t.runFile(in, cmd.InOrStdin()); err != nil {
					return err
				}
			}
			if err := t.out.Flush(); err != nil {
				return fmt.Errorf("write stdout: %w", err)
			}
			t.summary(cmd.ErrOrStderr())
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "", "config file (YAML)")
	cmd.Flags().StringArrayVar(&inputs, "input", nil, "sample file (repeatable; - or none for stdin)")
	cmd.Flags().StringVar(&format, "format", "", "audit | kube-audit-rest | auto (default auto)")
	cmd.Flags().StringVar(&output, "output", "", "also apply this output's own filters")
	return cmd
}

type tester struct {
	chain                      pipeline.Chain
	dec                        decode.Decoder
	m                          *metrics.Metrics
	out                        *bufio.Writer
	in, kept, invalid, skipped int64
	bytesIn, bytesOut          int64
	buf                        []byte
	maxLine                    int
}

// lineLimit is the longest line the config's file inputs read (the largest max_line_bytes
// among them; maxTestLine without one): `run` skips longer lines whole, so `test` counts
// them as over-long rather than projecting that their events are kept.
func lineLimit(cfg *config.Config) int {
	limit := 0
	for _, in := range cfg.Inputs {
		if fc, ok := in.Config.(*file.Config); ok {
			limit = max(limit, int(fc.MaxLineBytes))
		}
	}
	if limit == 0 {
		return maxTestLine
	}
	return limit
}

func (t *tester) runFile(path string, stdin io.Reader) error {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		defer f.Close()
		r = f
	}
	br, err := gunzipped(bufio.NewReaderSize(r, 1<<20))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	for {
		line, err := analyze.ReadLine(br, t.maxLine)
		if errors.Is(err, analyze.ErrLineTooLong) {
			t.skipped++
			continue
		}
		if len(line) > 0 {
			t.process(line)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	}
}

// gunzipped returns a reader of br's content, decompressed when it starts with the gzip
// magic bytes (1f 8b): rotated backups are compressed whatever their name, as the file
// input and `analyze` read them. A truncated or corrupt stream is an error ("gzip: ...")
// when it is read.
func gunzipped(br *bufio.Reader) (*bufio.Reader, error) {
	if magic, _ := br.Peek(2); len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return br, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return bufio.NewReaderSize(gzipErrors{zr}, 1<<20), nil
}

// gzipErrors names gzip in the errors of a decompressed stream ("unexpected EOF" alone
// does not say that the .gz is truncated).
type gzipErrors struct{ r io.Reader }

func (g gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("gzip: %w", err)
	}
	return n, err
}

// process counts one line. A run of NUL bytes ends a line and is skipped, as the file
// input reads it (inputs/file reader.next), so the events around it are tested too.
func (t *tester) process(line []byte) {
	t.bytesIn += int64(len(line)) + 1
	if bytes.IndexByte(line, 0) < 0 {
		t.decode(line)
		return
	}
	for _, f := range bytes.FieldsFunc(line, func(r rune) bool { return r == 0 }) {
		t.decode(f)
	}
}

func (t *tester) decode(line []byte) {
	evs, err := t.dec.Decode(line)
	if err != nil {
		t.invalid++
		return
	}
	for _, ev := range evs {
		t.in++
		if ev.OutsideSchema > 0 {
			t.m.InputMembersRemoved("test", ev.OutsideSchema)
		}
		if !t.chain.Keep(ev, t.m) {
			continue
		}
		t.kept++
		b, err := ev.AppendJSON(t.buf[:0])
		if err != nil {
			t.invalid++
			continue
		}
		t.buf = append(b, '\n')
		t.bytesOut += int64(len(t.buf))
		_, _ = t.out.Write(t.buf)
	}
}

func (t *tester) summary(w io.Writer) {
	fmt.Fprintf(w, "events in: %d  kept: %d  dropped: %d  invalid lines: %d  over-long lines: %d\n",
		t.in, t.kept, t.in-t.kept, t.invalid, t.skipped)
	if n := t.m.Total("members_removed/test"); n > 0 {
		fmt.Fprintf(w, "  members outside the audit Event schema removed: %d\n", n)
	}
	for _, s := range t.chain {
		fmt.Fprintf(w, "  filter %-28s dropped %8d  redacted fields %8d  removed bodies %d  errors %d\n",
			s.Name, t.m.Total("dropped/"+s.Name), t.m.Total("redacted/"+s.Name), t.m.Total("bodies_removed/"+s.Name), t.m.Total("filter_errors/"+s.Name))
	}
	red := 0.0
	if t.bytesIn > 0 {
		red = 100 * (1 - float64(t.bytesOut)/float64(t.bytesIn))
	}
	fmt.Fprintf(w, "bytes in: %d  bytes out: %d  reduction: %.1f%%\n", t.bytesIn, t.bytesOut, red)
}
