// Command auditship ships Kubernetes API-server audit logs: it follows rotated audit
// files, drops the noise, redacts secrets and delivers batches to Elasticsearch, object
// storage or files, advancing its checkpoints only after delivery.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/auditship/auditship/internal/agent"
	"github.com/auditship/auditship/internal/config"
)

// Set by the build (-ldflags "-X main.version=...").
var version = "dev"

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// exitError carries the exit code an error should end the process with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(err error) error { return &exitError{code: exitUsage, err: err} }

func main() {
	os.Exit(execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return executeWith(agent.Factories(), args, stdin, stdout, stderr)
}

// executeWith is execute with the component types f (the default list: agent.Factories).
func executeWith(f config.Factories, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(f)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var probs config.Problems
	if errors.As(err, &probs) {
		// One problem per line, nothing else: scripts and humans both read it.
		for _, p := range probs {
			fmt.Fprintln(stderr, config.RedactURLs(p))
		}
	} else {
		fmt.Fprintln(stderr, "auditship:", config.RedactURLs(err.Error()))
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitRuntime
}

func newRootCmd(f config.Factories) *cobra.Command {
	root := &cobra.Command{
		Use:           "auditship",
		Short:         "Ship Kubernetes API-server audit logs: filter, redact, deliver at least once",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	root.AddCommand(newRunCmd(f), newValidateCmd(f), newTestCmd(f), newAnalyzeCmd(), newProbeCmd(), newVersionCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "auditship", version)
		},
	}
}

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErr(fmt.Errorf("%s takes no arguments, got %q", cmd.Name(), args))
	}
	return nil
}
