package redact

import (
	"regexp"
	"strings"
	"testing"

	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/internal/corpustest"
	"github.com/auditship/auditship/internal/leakcorpus"
)

// TestRecordedKubeAPIServer runs the preset over what a real kube-apiserver wrote for the
// e2e suite's traffic (testdata/kube-apiserver: Secrets created, applied and patched with
// the annotations deploy tools write, the misindented apply, tokens; the audit log with its
// gzipped backups, the webhook backend's EventLists and kube-audit-rest's reviews), under
// every action: no secret the traffic planted or received leaves, in any form it can
// take (as is, base64, gzip+base64 inside annotations).
func TestRecordedKubeAPIServer(t *testing.T) {
	forms := corpustest.KubeSecrets(t)
	var secrets []string
	for form := range forms {
		secrets = append(secrets, form)
	}
	sources := []struct {
		format string
		lines  [][]byte
	}{
		{"audit", corpustest.KubeAuditLines(t)},
		{"audit", corpustest.KubeFileLines(t, "webhook-batches.ndjson")},
		{"kube-audit-rest", corpustest.KubeFileLines(t, "kube-audit-rest.ndjson")},
	}
	for _, action := range []string{"mask", "remove", "hash"} {
		f := presetFilter(t, action)
		events, secretEvents := 0, 0
		for _, src := range sources {
			dec, err := decode.New(src.format)
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range src.lines {
				evs, err := dec.Decode(line)
				if err != nil {
					t.Fatalf("%s line %d: %v", src.format, i, err)
				}
				for _, ev := range evs {
					events++
					if keep, err := f.Apply(ev); err != nil || !keep {
						t.Fatalf("%s line %d: keep=%v err=%v", src.format, i, keep, err)
					}
					if ev.Redacted > 0 || ev.RemovedBodies > 0 {
						secretEvents++
					}
					out := encode(t, ev)
					if c := leakIn(out, secrets); c != "" {
						t.Fatalf("%s: %s line %d leaks %.12s… (secret %.12s…):\n%.2000s", action, src.format, i, c, forms[c], out)
					}
					if !strings.Contains(out, `"auditID"`) {
						t.Fatalf("%s line %d lost its auditID", src.format, i)
					}
				}
			}
		}
		if secretEvents == 0 {
			t.Fatalf("%s: nothing redacted in %d events", action, events)
		}
		t.Logf("%s: %d events, %d redacted, %d secret forms checked", action, events, secretEvents, len(secrets))
	}
}

// gzipBase64 finds base64 of gzip data ("H4sI" is the base64 of its magic bytes).
var gzipBase64 = regexp.MustCompile(`H4sI[A-Za-z0-9+/_-]+={0,2}`)

// leakIn returns the first of forms (the secrets as is and in every base64 alphabet) in
// out, also inside gzip+base64 text, or "".
func leakIn(out string, forms []string) string {
	for _, f := range forms {
		if strings.Contains(out, f) {
			return f
		}
	}
	for _, run := range gzipBase64.FindAllString(out, -1) {
		if c := leakcorpus.Leak([]byte(run), forms); c != "" {
			return c
		}
	}
	return ""
}
