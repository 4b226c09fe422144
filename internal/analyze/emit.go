package analyze

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/auditship/auditship/inputs/file"
	"github.com/auditship/auditship/internal/config"
)

// EmitOptions say where the emitted config reads and writes.
type EmitOptions struct {
	Files   []string // the analysed files, the config's input paths
	Format  string   // the input format
	DataDir string   // checkpoints
	Output  string   // the file output's path
}

// EmitHeader is the first line of every emitted config: `analyze --emit-config` overwrites
// a file only when it starts with it.
const EmitHeader = "# auditship configuration written by `auditship analyze --emit-config`."

// EmitConfig writes a complete auditship configuration that keeps every event carrying a
// security signal (SignalExpr), lowers what it keeps to the cheapest level that keeps the
// signal (the policy below), drops the authorizer's free-text reason, and redacts every
// secret. The comments price it on the analysed input.
func EmitConfig(r *Report, o EmitOptions) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	var noise, noiseEvents, sigEvents int64
	for _, g := range r.Groups {
		if !g.Signal {
			noise += g.Bytes
			noiseEvents += g.Events
		}
		sigEvents += g.SignalEvents
	}
	p("%s\n", EmitHeader)
	p("# Analysed: %d events, %s in %d lines; %d events carry a security signal.\n", r.EventsIn, config.HumanBytes(r.BytesIn), r.Lines, sigEvents)
	p("# The keep filter drops the %d events without one (%s, %.1f%% of the bytes); the policy\n", noiseEvents, config.HumanBytes(noise), pct(noise, r.BytesIn))
	p("# then lowers what is kept. Check the projected reduction with:\n")
	p("#   auditship test -c THIS_FILE")
	for _, f := range o.Files {
		p(" --input %s", Display(shellQuote(f))) // a comment line: a newline in a name must not end it
	}
	p(" > /dev/null\n#\n# Largest groups dropped (no security signal in the analysed input):\n")
	n := 0
	for _, g := range r.Groups {
		if g.Signal || strings.HasPrefix(g.UserClass, "(") || n == 10 {
			continue
		}
		n++
		p("#   %5.1f%%  %s %s %s by %s\n", 100*g.Share, Display(g.Verb), Display(g.Resource), g.NamespaceClass, Display(g.User))
	}
	p("\ndata_dir: %s\n\ninputs:\n  analysed:\n    type: file\n    paths:\n", yamlStr(o.DataDir))
	for _, f := range o.Files {
		abs, err := filepath.Abs(f)
		if err != nil {
			abs = f
		}
		p("      - %s\n", yamlStr(globEscape(abs)))
	}
	p("    format: %s\n    start_at: beginning\n", o.Format)
	if r.LongestLine > file.DefaultMaxLineBytes {
		// The file input skips longer lines whole; a person's list of Secrets at
		// RequestResponse is easily larger than the default, and it carries a signal.
		p("    # The longest analysed line is %s; the default max_line_bytes (%s) would skip it.\n",
			config.HumanBytes(r.LongestLine), config.HumanBytes(file.DefaultMaxLineBytes))
		p("    max_line_bytes: %d\n", roundUpMiB(r.LongestLine))
	}
	if r.OverLong > 0 {
		p("    # %d lines were longer than analyze reads (%s): raise max_line_bytes to ship them.\n",
			r.OverLong, config.HumanBytes(maxLine))
	}
	p("\n")
	p("filters:\n")
	p("  # 1. Keep the security signals (documented in docs/analyze.md); drop the rest.\n")
	p("  - type: keep\n    name: security-signals\n    when: |-\n%s\n\n", indent(SignalExpr, "      "))
	p("  # 2. The cheapest level that keeps each signal, as if kube-apiserver had written it.\n")
	p("  - type: audit_policy\n    name: cheapest-levels\n    policy: |\n%s\n", indent(EmittedPolicy, "      "))
	p("  # 3. The authorizer's free-text reason repeats the RBAC binding; the decision stays.\n")
	p("  - type: redact\n    name: authorization-reason\n    action: remove\n    paths:\n      - 'annotations[\"authorization.k8s.io/reason\"]'\n\n")
	p("  # 4. Every secret value out, fail-closed.\n")
	p("  - type: redact\n    name: secrets\n    preset: kubernetes-secrets\n\n")
	p("outputs:\n  siem:\n    type: file   # replace with your SIEM's output (docs/elasticsearch.md)\n    path: %s\n", yamlStr(o.Output))
	return b.String()
}

// EmittedPolicy is the audit Policy of the emitted config (and of
// configs/siem-recommended.yaml): credentials, interactive access, reads and automation
// at Metadata; people's writes at Request; managedFields omitted; the RequestReceived
// stage omitted, as kube-apiserver's own example policy does: every request is written
// again at a later stage (ResponseStarted, ResponseComplete or Panic) with the same
// user, verb and object and its response status, so no request is lost from the SIEM.
const EmittedPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitManagedFields: true
omitStages: ["RequestReceived"]
rules:
  # Secrets and tokens: who touched which one, never the content.
  - level: Metadata
    resources:
      - group: ""
        resources: ["secrets", "serviceaccounts/token"]
      - group: authentication.k8s.io
        resources: ["tokenreviews"]
  # exec/attach/portforward: the command is in requestURI; there is no useful body.
  - level: Metadata
    resources:
      - group: ""
        resources: ["pods/exec", "pods/attach", "pods/portforward"]
  # Reads: who read what.
  - level: Metadata
    verbs: ["get", "list", "watch"]
  # Automation: which controller or node changed what.
  - level: Metadata
    userGroups: ["system:serviceaccounts", "system:nodes", "system:unauthenticated"]
  - level: Metadata
    users: ["system:kube-controller-manager", "system:kube-scheduler", "system:kube-proxy", "system:apiserver", "system:anonymous"]
  # People's writes: the request body is the change they made.
  - level: Request
    verbs: ["create", "update", "patch", "delete", "deletecollection"]
  # Everything else the keep filter chose.
  - level: Metadata
`

// globEscape escapes the characters filepath.Match reads as a pattern (the file input's
// paths are globs): a file named audit[1].log must not become the pattern matching
// audit1.log instead of itself.
func globEscape(path string) string {
	var b strings.Builder
	for _, r := range path {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// roundUpMiB returns n rounded up to a whole MiB.
func roundUpMiB(n int64) int64 { return (n + 1<<20 - 1) &^ (1<<20 - 1) }

func yamlStr(s string) string { return strconv.Quote(s) }

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func pct(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}
