package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/auditship/auditship/internal/analyze"
	"github.com/auditship/auditship/internal/safefile"
)

func newAnalyzeCmd() *cobra.Command {
	var (
		format, inputFormat, emit, dataDir, outPath string
		top                                         int
	)
	cmd := &cobra.Command{
		Use:   "analyze [--format table|json|html] [--top N] [--emit-config FILE] [--input-format F] FILE...",
		Short: "Show where the bytes of audit logs go and which filters cut them without losing a security signal",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(errors.New("analyze needs at least one FILE (or - for stdin)"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, files []string) error {
			if format != "table" && format != "json" && format != "html" {
				return usageErr(fmt.Errorf("--format %q: want table, json or html", format))
			}
			if top < 0 {
				return usageErr(fmt.Errorf("--top %d: want 0 (all groups) or more", top))
			}
			// Before reading anything: the whole of stdin would be read and reported first.
			if emit != "" && slices.Contains(files, "-") {
				return usageErr(errors.New("--emit-config needs files: a config cannot read stdin"))
			}
			a, err := analyze.New(inputFormat)
			if err != nil {
				return usageErr(fmt.Errorf("--input-format: %w", err))
			}
			for _, f := range files {
				if err := analyzeFile(a, f, cmd.InOrStdin()); err != nil {
					return err
				}
			}
			r := a.Report()
			r.Files = files
			if r.Invalid > 0 {
				// Said apart from the report: a wrong --input-format makes every line invalid,
				// and a report of "0 events" alone does not say why.
				fmt.Fprintf(cmd.ErrOrStderr(), "auditship: %d of %d lines are not audit events as --input-format %s reads them; they are counted as invalid, not analysed\n",
					r.Invalid, r.Lines, inputFormat)
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			switch format {
			case "json":
				err = analyze.WriteJSON(w, r, top)
			case "html":
				err = analyze.WriteHTML(w, r, top)
			default:
				err = analyze.WriteTable(w, r, top)
			}
			if err == nil {
				err = w.Flush()
			}
			if err != nil {
				return fmt.Errorf("write report: %w", err)
			}
			if emit == "" {
				return nil
			}
			cfg := analyze.EmitConfig(r, analyze.EmitOptions{Files: files, Format: inputFormat, DataDir: dataDir, Output: outPath})
			if err := writeNewFile(emit, []byte(cfg)); err != nil {
				return fmt.Errorf("--emit-config: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "auditship: wrote %s; check it with: auditship test -c %s --input FILE > /dev/null\n", emit, emit)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table | json | html")
	cmd.Flags().IntVar(&top, "top", 25, "groups to list (0: all)")
	cmd.Flags().StringVar(&emit, "emit-config", "", "write a config that keeps every security signal and cuts the rest to FILE (0600)")
	cmd.Flags().StringVar(&inputFormat, "input-format", "auto", "audit | kube-audit-rest | auto")
	cmd.Flags().StringVar(&dataDir, "data-dir", "auditship-state", "data_dir of the emitted config")
	cmd.Flags().StringVar(&outPath, "output", "auditship-out.ndjson", "file output path of the emitted config")
	return cmd
}

// analyzeFile streams one file (or stdin for "-"); gzip is detected by content.
func analyzeFile(a *analyze.Analyzer, path string, stdin io.Reader) error {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		defer f.Close()
		r = f
	}
	if err := a.Run(r); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// writeNewFile writes data to path with mode 0600 through internal/safefile: a symlink,
// a hard link or another user's file there is refused before anything is truncated. An
// existing file is replaced only when an earlier --emit-config wrote it (its first line
// is analyze.EmitHeader): `analyze --emit-config /var/log/kubernetes/audit/*.log` makes
// the live audit log the config path, and emptying it would destroy the evidence.
func writeNewFile(path string, data []byte) error {
	if err := checkEmitted(path); err != nil {
		return err
	}
	f, err := safefile.OpenTruncate(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkEmitted returns nil when path does not exist, or is a regular file that starts
// with analyze.EmitHeader; symlinks and the like are left to safefile's checks.
func checkEmitted(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && !fi.Mode().IsRegular() {
		return nil
	}
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, len(analyze.EmitHeader))
	if _, err := io.ReadFull(f, head); err != nil || string(head) != analyze.EmitHeader {
		return fmt.Errorf("%s exists and was not written by analyze --emit-config; refusing to overwrite it (remove it or choose another path)", path)
	}
	return nil
}
