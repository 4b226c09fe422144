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
//
// With -controlplane it records kube.ControlPlane's traffic instead: a cluster's own
// components (kubelets, kube-controller-manager and its controllers, kube-scheduler,
// kube-proxy, CoreDNS, add-ons), people and CI, with one round of the Driver's security
// traffic among them, audited at RequestResponse on every stage. It writes
//
//	audit.log.gz   what the API server wrote once the cluster was set up (the steady
//	               state only), gzipped
//	secrets.json   the secret values the traffic planted or received
//
// into -o (default testdata/kube-apiserver/controlplane), leaving everything else:
//
//	go run ./internal/testing/kube/cmd/record-corpus -controlplane -minutes 30
package main

import (
	"bytes"
	"compress/gzip"
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
	controlPlane := flag.Bool("controlplane", false, "record kube.ControlPlane's traffic (default -o testdata/kube-apiserver/controlplane)")
	minutes := flag.Int("minutes", 30, "with -controlplane: minutes of cluster time")
	flag.Parse()
	var err error
	if *controlPlane {
		dir := *out
		if !isFlagSet("o") {
			dir = filepath.Join("testdata", "kube-apiserver", "controlplane")
		}
		err = recordControlPlane(dir, *minutes)
	} else if *policiesOnly {
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

// install builds (first use only) kube-apiserver and etcd and makes a directory for a
// cluster's files; cleanup removes it.
func install(prefix string) (bins kube.Binaries, tmp string, cleanup func(), err error) {
	if bins, err = kube.Install(context.Background(), os.Stderr); err != nil {
		return bins, "", nil, err
	}
	if tmp, err = os.MkdirTemp("", prefix); err != nil {
		return bins, "", nil, err
	}
	return bins, tmp, func() { os.RemoveAll(tmp) }, nil
}

func record(out string, rounds int) error {
	ctx := context.Background()
	bins, tmp, cleanup, err := install("record-corpus-")
	if err != nil {
		return err
	}
	defer cleanup()
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

func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// recordControlPlane records kube.ControlPlane's steady state into out/audit.log.gz.
func recordControlPlane(out string, minutes int) error {
	ctx := context.Background()
	bins, tmp, cleanup, err := install("record-controlplane-")
	if err != nil {
		return err
	}
	defer cleanup()
	o := kube.ControlPlaneOptions{Minutes: minutes, Seed: 1}
	c, err := kube.Launch(bins, tmp, kube.Options{Users: kube.ControlPlaneUsers(o), NodeAuthorizer: true, LogMaxSizeMB: 1000})
	if c != nil {
		defer c.Stop()
	}
	if err != nil {
		return err
	}
	d := kube.NewDriver(c, "controlplane")
	skip := 0
	ready := func() error {
		lines, err := kube.ReadLines([]string{c.AuditLog})
		skip = len(lines)
		return err
	}
	start := time.Now()
	if err := kube.NewControlPlane(c, d, o).Run(ctx, ready); err != nil {
		return fmt.Errorf("%w\n%s", err, c.APIServerLog(3000))
	}
	lines, err := c.AuditLines()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	for _, l := range lines[skip:] {
		zw.Write(l)
		zw.Write([]byte("\n"))
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "audit.log.gz"), buf.Bytes(), 0o644); err != nil {
		return err
	}
	secrets, err := json.MarshalIndent(d.Secrets(), "", " ")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "record-corpus: %d events (%d setup events left out) in %s, %d bytes gzipped\n", len(lines)-skip, skip, time.Since(start).Round(time.Second), buf.Len())
	return os.WriteFile(filepath.Join(out, "secrets.json"), append(secrets, '\n'), 0o644)
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
