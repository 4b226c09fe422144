// Command record-corpus records what a real kube-apiserver writes for the Driver's
// traffic into a directory (the repository keeps one under testdata/kube-apiserver/):
//
//	audit-*.log.gz, audit.log   the --audit-log-path output (RequestResponse, every stage,
//	                            rotated every 1 MB and gzipped, as lumberjack leaves it)
//	webhook-batches.ndjson      the webhook backend's EventList POST bodies, one a line
//	kube-audit-rest.ndjson      the AdmissionReviews a validating webhook received, one a
//	                            line with requestReceivedTimestamp (kube-audit-rest's format)
//	secrets.json                every secret value the traffic planted or received (a
//	                            JSON array of strings)
//	policy/requestresponse.log  two rounds of traffic with audit IDs diff-N, audited at
//	                            RequestResponse
//	policy/NAME.yaml, NAME.log  the same traffic sent to an API server auditing under
//	                            kube.DifferentialPolicies[NAME]: what auditship's
//	                            audit_policy must make of requestresponse.log
//
// Usage: go run ./internal/testing/kube/cmd/record-corpus -o testdata/kube-apiserver -rounds 12
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/auditship/auditship/internal/testing/kube"
)

func main() {
	out := flag.String("o", "testdata/kube-apiserver", "output directory (replaced)")
	rounds := flag.Int("rounds", 12, "traffic rounds (one namespace each)")
	policiesOnly := flag.Bool("policies-only", false, "record only the policy differential (OUT/policy)")
	flag.Parse()
	var err error
	if *policiesOnly {
		var bins kube.Binaries
		if bins, err = kube.Install(context.Background(), os.Stderr); err == nil {
			if err = os.RemoveAll(filepath.Join(*out, "policy")); err == nil {
				err = recordPolicies(bins, filepath.Join(*out, "policy"))
			}
		}
	} else {
		err = record(*out, *rounds)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "record-corpus:", err)
		os.Exit(1)
	}
}

func record(out string, rounds int) error {
	ctx := context.Background()
	bins, err := kube.Install(ctx, os.Stderr)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "record-corpus-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	hook, err := kube.StartWebhookReceiver()
	if err != nil {
		return err
	}
	defer hook.Close()
	c, err := kube.Launch(bins, tmp, kube.Options{WebhookURL: hook.URL})
	if c != nil {
		defer c.Stop()
	}
	if err != nil {
		return err
	}
	adm, err := kube.StartAdmissionRecorder(filepath.Join(tmp, "kube-audit-rest.ndjson"))
	if err != nil {
		return err
	}
	defer adm.Close()
	d := kube.NewDriver(c, "corpus")
	if err := d.Register(ctx, adm); err != nil {
		return err
	}
	for i := range rounds {
		if err := d.Round(ctx, fmt.Sprintf("team-%02d", i)); err != nil {
			return err
		}
	}
	c.Stop()
	time.Sleep(2 * time.Second) // the webhook backend's last batch
	adm.Close()

	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	files, err := c.AuditFiles()
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := copyFile(f, filepath.Join(out, filepath.Base(f))); err != nil {
			return err
		}
	}
	if err := copyFile(adm.Path, filepath.Join(out, "kube-audit-rest.ndjson")); err != nil {
		return err
	}
	var batches strings.Builder
	for _, b := range hook.Batches() {
		batches.WriteString(strings.TrimSpace(string(b)))
		batches.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(out, "webhook-batches.ndjson"), []byte(batches.String()), 0o644); err != nil {
		return err
	}
	secrets, err := json.MarshalIndent(d.Secrets(), "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "secrets.json"), append(secrets, '\n'), 0o644); err != nil {
		return err
	}
	return recordPolicies(bins, filepath.Join(out, "policy"))
}

// recordPolicies records the policy differential's traffic under RequestResponse and
// under each of kube.DifferentialPolicies.
func recordPolicies(bins kube.Binaries, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	policies := map[string]string{"requestresponse": kube.DefaultPolicy}
	for name, p := range kube.DifferentialPolicies {
		policies[name] = p
		if err := os.WriteFile(filepath.Join(out, name+".yaml"), []byte(p), 0o644); err != nil {
			return err
		}
	}
	for name, p := range policies {
		lines, err := differentialRun(bins, p)
		if err != nil {
			return fmt.Errorf("policy %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(out, name+".log"), append(bytes.Join(lines, []byte("\n")), '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// differentialRun is e2e's policy run: two rounds with audit IDs diff-N; only the
// traffic's own events are kept (the API server's controllers' are not reproducible).
func differentialRun(bins kube.Binaries, policy string) ([][]byte, error) {
	tmp, err := os.MkdirTemp("", "record-policy-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	c, err := kube.Launch(bins, tmp, kube.Options{Policy: policy, LogMaxSizeMB: 100})
	if c != nil {
		defer c.Stop()
	}
	if err != nil {
		return nil, err
	}
	d := kube.NewDriver(c, "differential")
	d.AuditIDPrefix = "diff"
	for i := range 2 {
		if err := d.Round(context.Background(), fmt.Sprintf("diff-%d", i)); err != nil {
			return nil, err
		}
	}
	c.Stop()
	files, err := c.AuditFiles()
	if err != nil {
		return nil, err
	}
	lines, err := kube.ReadLines(files)
	if err != nil {
		return nil, err
	}
	var ours [][]byte
	for _, l := range lines {
		if bytes.Contains(l, []byte(`"auditID":"diff-`)) {
			ours = append(ours, l)
		}
	}
	return ours, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	o, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(o, in); err != nil {
		o.Close()
		return err
	}
	return o.Close()
}
