package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/auditship/auditship/internal/config"
)

func newValidateCmd(f config.Factories) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "validate -c FILE",
		Short: "Check a config: exit 0 when valid, else one line per problem and exit 2",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := checkConfig(path, f, nil)
			if err != nil {
				return err
			}
			if err := a.Check(); err != nil {
				return usageErr(err)
			}
			cfg := a.Config
			// Allowed but unsafe: said on stderr, where problems go, without failing.
			for _, w := range cfg.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%d inputs, %d filters, %d outputs)\n", path, len(cfg.Inputs), len(cfg.Filters), len(cfg.Outputs))
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "", "config file (YAML)")
	return cmd
}
