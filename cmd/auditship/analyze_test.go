package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/internal/agent"
	"github.com/auditship/auditship/internal/analyze"
	"github.com/auditship/auditship/internal/corpustest"
	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/metrics"
)

// writeGenerated writes n generated events (the realistic control-plane mix) to a file.
func writeGenerated(t *testing.T, dir string, n int, f gen.Format) string {
	t.Helper()
	p := filepath.Join(dir, "audit.log")
	fh, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(fh)
	g := gen.New(11).WithFormat(f).WithCanaries(true)
	for i := range n {
		w.Write(g.Event(i))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	return p
}

func TestAnalyzeJSON(t *testing.T) {
	dir := t.TempDir()
	in := writeGenerated(t, dir, 3000, gen.FormatAudit)
	code, out, errs := run(t, "", "analyze", "--format", "json", "--top", "5", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		BytesIn  int64 `json:"bytes_in"`
		EventsIn int64 `json:"events_in"`
		Groups   []struct {
			Events int64 `json:"events"`
			Bytes  int64 `json:"bytes"`
			Signal bool  `json:"signal"`
		} `json:"groups"`
		Suggestions []struct {
			Filter      string `json:"filter"`
			BytesSaved  int64  `json:"bytes_saved"`
			SignalsLost int64  `json:"signals_lost"`
		} `json:"suggestions"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	st, _ := os.Stat(in)
	var sum, events int64
	for _, g := range r.Groups {
		sum += g.Bytes
		events += g.Events
	}
	if r.BytesIn != st.Size() || sum != r.BytesIn || events != r.EventsIn || r.EventsIn != 3000 {
		t.Errorf("bytes_in %d (file %d), groups add to %d; events %d/%d", r.BytesIn, st.Size(), sum, events, r.EventsIn)
	}
	if len(r.Groups) != 6 || len(r.Suggestions) == 0 || r.Suggestions[0].Filter == "" {
		t.Errorf("%d groups (want top 5 + rest), %d suggestions", len(r.Groups), len(r.Suggestions))
	}
}

func TestAnalyzeStdinAndErrors(t *testing.T) {
	line := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"1","stage":"ResponseComplete","verb":"get","user":{"username":"alice"}}` + "\n"
	code, out, errs := run(t, line+line, "analyze", "-")
	if code != 0 || !strings.Contains(out, "2 events") || !strings.Contains(out, "alice") {
		t.Errorf("stdin: exit %d, %q %q", code, out, errs)
	}
	if code, _, errs := run(t, "", "analyze", "--format", "xml", "-"); code != 2 || !strings.Contains(errs, "--format") {
		t.Errorf("bad format: exit %d %q", code, errs)
	}
	if code, _, errs := run(t, "", "analyze", filepath.Join(t.TempDir(), "missing.log")); code != 1 || !strings.Contains(errs, "missing.log") {
		t.Errorf("missing file: exit %d %q", code, errs)
	}
	if code, _, _ := run(t, "", "analyze"); code != 2 {
		t.Errorf("no file: exit %d, want 2", code)
	}
	if code, _, errs := run(t, line, "analyze", "--emit-config", filepath.Join(t.TempDir(), "c.yaml"), "-"); code != 2 || !strings.Contains(errs, "stdin") {
		t.Errorf("emit from stdin: exit %d %q", code, errs)
	}
}

// The emitted config is valid, keeps every event with a security signal, and cuts at least
// 90% of the bytes of a realistic stream; configs/siem-recommended.yaml does the same.
func TestEmittedConfigKeepsSignalsAndCuts(t *testing.T) {
	dir := t.TempDir()
	inputs := map[string]string{
		"generated":    writeGenerated(t, dir, 40000, gen.FormatAudit),
		"controlplane": writeLines(t, filepath.Join(dir, "controlplane.log"), corpustest.KubeControlPlaneLines(t)),
	}
	// The cut each input must reach. "generated" and "controlplane" (a real API server's
	// log of a cluster's own components, people and CI) are realistic streams: the target
	// is 90%. "kube-apiserver" is the e2e suite's security traffic on an API server without
	// controllers or kubelets: 46% of its events carry a signal (a person's writes, secret
	// reads, denials, exec), so what must be kept, at Metadata, is the floor; 85% is the
	// cut measured there (85.3%), kept as a lower bound.
	minCut := map[string]float64{"generated": 90, "controlplane": 90, "kube-apiserver": 85}
	// The secret values each recording's traffic planted or received: none may be kept.
	secrets := map[string]map[string]string{"controlplane": corpustest.KubeControlPlaneSecrets(t), "kube-apiserver": corpustest.KubeSecrets(t)}
	if real := realCorpusFile(t); real != "" {
		inputs["kube-apiserver"] = real
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "emitted.yaml")
			if code, _, errs := run(t, "", "analyze", "--emit-config", cfg, in); code != 0 {
				t.Fatalf("analyze: exit %d: %s", code, errs)
			}
			if st, err := os.Stat(cfg); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("emitted config: %v mode %v", err, st.Mode())
			}
			if code, _, errs := run(t, "", "validate", "-c", cfg); code != 0 {
				t.Fatalf("validate: %s", errs)
			}
			for _, c := range []string{cfg, "../../configs/siem-recommended.yaml"} {
				kept, reduction := applyConfig(t, c, in, secrets[name])
				t.Logf("%s on %s: reduction %.1f%%, %d signal events all kept", filepath.Base(c), name, reduction, kept)
				if reduction < minCut[name] {
					t.Errorf("%s cuts %.1f%% of %s, want >= %.0f%%", c, reduction, name, minCut[name])
				}
			}
		})
	}
}

// applyConfig runs config's filters over file and checks every request with a security
// signal survives: each event with a signal is kept, except a RequestReceived event whose
// request is kept at a later stage (the policy omits that stage; the later event has the
// same user, verb and object, and the response). It returns the count of kept events
// with a signal and the byte reduction. No kept event may hold a generator canary or one
// of leaks (strings that reveal a secret).
func applyConfig(t *testing.T, config, file string, leaks map[string]string) (int, float64) {
	t.Helper()
	a, err := checkConfig(config, agent.Factories(), metrics.New())
	if err != nil {
		t.Fatal(err)
	}
	chain := a.Filters
	dec, _ := decode.New("auto")
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var in, out int64
	signals := 0
	waiting := map[string]string{} // auditID -> what a dropped RequestReceived event was
	keptLater := map[string]bool{}
	m := metrics.New()
	for {
		line, err := analyze.ReadLine(br, maxTestLine)
		if len(line) > 0 {
			in += int64(len(line)) + 1
			evs, derr := dec.Decode(line)
			if derr != nil {
				t.Fatalf("decode: %v", derr)
			}
			for _, ev := range evs {
				at := analyze.Read(ev)
				sig := at.Signals(nil)
				id, _ := ev.Field("auditID").(string)
				if !chain.Keep(ev, m) {
					if len(sig) > 0 {
						what := fmt.Sprintf("signals %v: %s %s by %s at %s", sig, at.Verb, at.ResourceName(), at.Username, at.Stage)
						if at.Stage == "RequestReceived" && id != "" {
							waiting[id] = what
						} else {
							t.Errorf("an event with %s was dropped", what)
						}
					}
					continue
				}
				if at.Stage != "RequestReceived" {
					keptLater[id] = true
				}
				signals += min(1, len(sig))
				b, err := ev.AppendJSON(nil)
				if err != nil {
					t.Fatal(err)
				}
				out += int64(len(b)) + 1
				if gen.ContainsCanary(b) {
					t.Errorf("kept event leaks a canary: %.300s", b)
				}
				for form, secret := range leaks {
					if bytes.Contains(b, []byte(form)) {
						t.Errorf("kept event leaks secret %q: %.300s", secret, b)
					}
				}
			}
		}
		if err != nil {
			break
		}
	}
	for id, what := range waiting {
		if !keptLater[id] {
			t.Errorf("request %s (%s) was dropped at every stage", id, what)
		}
	}
	return signals, 100 * (1 - float64(out)/float64(in))
}

// writeLines writes lines to path, one a line, and returns path.
func writeLines(t *testing.T, path string, lines [][]byte) string {
	t.Helper()
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// realCorpusFile returns the recorded kube-apiserver audit log (testdata), or "".
func realCorpusFile(t *testing.T) string {
	// The live file and its gzipped backups, oldest first, as one plain file.
	backups, _ := filepath.Glob("../../testdata/kube-apiserver/audit-*.log.gz")
	live := "../../testdata/kube-apiserver/audit.log"
	if _, err := os.Stat(live); err != nil {
		t.Log("no recorded kube-apiserver corpus under testdata/kube-apiserver")
		return ""
	}
	sort.Strings(backups)
	var all bytes.Buffer
	for _, b := range append(backups, live) {
		data, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(b, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
		}
		all.Write(data)
	}
	p := filepath.Join(t.TempDir(), "kube-apiserver-audit.log")
	if err := os.WriteFile(p, all.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// configs/siem-recommended.yaml keeps exactly what analyze calls a signal, with the same
// policy: one rule, written once.
func TestSIEMRecommendedIsTheEmittedRule(t *testing.T) {
	b, err := os.ReadFile("../../configs/siem-recommended.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, indentLines(analyze.SignalExpr, "      ")) {
		t.Error("siem-recommended.yaml's keep expression is not analyze.SignalExpr")
	}
	if !strings.Contains(s, indentLines(strings.TrimRight(analyze.EmittedPolicy, "\n"), "      ")) {
		t.Error("siem-recommended.yaml's policy is not analyze.EmittedPolicy")
	}
}

func indentLines(s, pre string) string {
	l := strings.Split(s, "\n")
	for i := range l {
		if l[i] != "" {
			l[i] = pre + l[i]
		}
	}
	return strings.Join(l, "\n")
}

// The HTML report is one self-contained page that a browser renders: headless Chromium
// loads it and the DOM holds one bar per group. Skipped when Chromium is not installed.
func TestAnalyzeHTMLRendersInChromium(t *testing.T) {
	dir := t.TempDir()
	in := writeGenerated(t, dir, 2000, gen.FormatAudit)
	code, out, errs := run(t, "", "analyze", "--format", "html", "--top", "12", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, bad := range []string{"<script", "http://", "https://", "<link", "@import"} {
		if strings.Contains(out, bad) {
			t.Errorf("report is not self-contained: holds %q", bad)
		}
	}
	if n := strings.Count(out, "<rect "); n != 13 {
		t.Errorf("%d bars in the page, want 13 (12 groups and the rest)", n)
	}
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	chromium := ""
	for _, c := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(c); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		t.Skip("Chromium not installed (apt-get install chromium): the page was checked as text only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+filepath.Join(dir, "shot.png"),
		"--window-size=1200,900", "--dump-dom", "file://"+page)
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if n := len(regexp.MustCompile(`<rect `).FindAll(dom, -1)); n != 13 {
		t.Errorf("chromium's DOM has %d bars, want 13", n)
	}
	if !strings.Contains(string(dom), `id="suggestions"`) {
		t.Error("chromium's DOM has no suggestions table")
	}
	if st, err := os.Stat(filepath.Join(dir, "shot.png")); err != nil || st.Size() < 5000 {
		t.Errorf("no screenshot of the rendered page: %v", err)
	}
}
