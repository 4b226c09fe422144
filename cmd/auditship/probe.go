package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// newProbeCmd is the kubelet's exec probe: with http.probe_listen on 127.0.0.1 the probes
// are reachable from inside the pod only, and the image (distroless) has no curl.
func newProbeCmd() *cobra.Command {
	var addr string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "probe --addr HOST:PORT /healthz|/readyz",
		Short: "GET a probe endpoint of a running agent: exit 0 when it answers 200, 1 otherwise (a kubelet exec probe)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || (args[0] != "/healthz" && args[0] != "/readyz") {
				return usageErr(fmt.Errorf("probe takes one argument, /healthz or /readyz; got %q", args))
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return usageErr(fmt.Errorf("--addr %q: %w", addr, err))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+args[0], nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			// The body is a few short lines ("not ready", "output siem: not ready").
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			fmt.Fprint(cmd.OutOrStdout(), string(body))
			if resp.StatusCode != http.StatusOK {
				return errors.New(resp.Status)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8687", "the agent's http.probe_listen (or http.listen)")
	cmd.Flags().DurationVar(&timeout, "timeout", 4*time.Second, "give up after this long (below the probe's timeoutSeconds)")
	return cmd
}
