package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"sigs.k8s.io/yaml"

	"github.com/auditship/auditship/internal/toolcache"
)

// kubeVersion is the cluster version renderings assume: a Helm built with go install
// reports Kubernetes v1.20 by default, below the chart's kubeVersion.
const kubeVersion = "1.32.0"

const (
	chartDir    = "helm/auditship"
	examplesDir = "helm/examples"
	releaseNS   = "auditship"
)

// helmTool is the Helm the chart tests run, built from its Go module once per machine
// (like MinIO); .ci/run builds it up front. AUDITSHIP_HELM names another binary.
var helmTool = toolcache.Helm

var (
	helmOnce sync.Once
	helmPath string
	helmErr  error
)

func helmBin(t *testing.T) string {
	t.Helper()
	helmOnce.Do(func() {
		if p := os.Getenv("AUDITSHIP_HELM"); p != "" {
			helmPath = p
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), helmTool.Timeout+time.Minute)
		defer cancel()
		helmPath, helmErr = helmTool.Install(ctx, os.Stderr)
	})
	if helmErr != nil {
		t.Fatalf("build helm: %v", helmErr)
	}
	return helmPath
}

// helm runs the helm binary and returns its standard output, or its error with stderr.
func helm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(helmBin(t), args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, &helmError{err: err, stderr: stderr.String() + string(out)}
	}
	return out, nil
}

type helmError struct {
	err    error
	stderr string
}

func (e *helmError) Error() string { return e.err.Error() + ": " + e.stderr }

func helmTemplate(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := helm(t, append([]string{"template", "auditship", chartDir, "--namespace", releaseNS, "--kube-version", kubeVersion}, args...)...)
	if err != nil {
		t.Fatalf("helm template %v: %v", args, err)
	}
	return out
}

func exampleValues(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example values under %s: %v", examplesDir, err)
	}
	return files
}

func TestHelmLint(t *testing.T) {
	for _, v := range append([]string{""}, exampleValues(t)...) {
		args := []string{"lint", "--strict", "--kube-version", kubeVersion, chartDir}
		if v != "" {
			args = append(args, "-f", v)
		}
		if out, err := helm(t, args...); err != nil {
			t.Errorf("helm lint %s: %v\n%s", v, err, out)
		}
	}
}

// docs splits a rendering into its objects, as generic maps.
func docs(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, d := range docSep.Split(string(out), -1) {
		if strings.TrimSpace(d) == "" {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatalf("parse rendered object: %v", err)
		}
		if m != nil {
			objs = append(objs, m)
		}
	}
	return objs
}

func find(objs []map[string]any, kind string) map[string]any {
	for _, o := range objs {
		if o["kind"] == kind {
			return o
		}
	}
	return nil
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// podInSubstance is a workload's pod spec with what legitimately differs between the
// chart and kustomize blanked: the image reference and the names of the ConfigMap and
// Secrets a tool generates (kustomize suffixes a hash, Helm prefixes the release).
func podInSubstance(t *testing.T, workload map[string]any) map[string]any {
	t.Helper()
	spec, ok := dig(workload, "spec", "template", "spec").(map[string]any)
	if !ok {
		t.Fatalf("%v has no pod spec", workload["kind"])
	}
	b, _ := json.Marshal(spec)
	var cp map[string]any
	_ = json.Unmarshal(b, &cp)
	for _, list := range []string{"containers", "initContainers"} {
		cs, _ := cp[list].([]any)
		for _, c := range cs {
			c.(map[string]any)["image"] = "IMAGE"
		}
	}
	vols, _ := cp["volumes"].([]any)
	for _, v := range vols {
		vm := v.(map[string]any)
		if cm, ok := vm["configMap"].(map[string]any); ok {
			cm["name"] = "CONFIG"
		}
		if s, ok := vm["secret"].(map[string]any); ok && strings.HasSuffix(s["secretName"].(string), "-cert") {
			s["secretName"] = "CERT"
		}
	}
	cp["serviceAccountName"] = "SA"
	return cp
}

// diff describes where two JSON-like values differ, for the failure message.
func diff(a, b any, path string, out *[]string) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		var ks []string
		for k := range keys {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			diff(am[k], bm[k], path+"."+k, out)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			diff(al[i], bl[i], path+"["+string(rune('0'+i%10))+"]", out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		*out = append(*out, path+": chart "+string(ja)+" vs kustomize "+string(jb))
	}
}

func kustomizeObjects(t *testing.T, dir string) []map[string]any {
	t.Helper()
	cmd := kustomizeCmd(dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("render %s: %v", dir, err)
	}
	return docs(t, out)
}

// The chart's default values render the kustomize base's DaemonSet: same pod spec
// (probes, security, volumes, scheduling, resources, env), same config file.
func TestHelmDefaultIsTheKustomizeBase(t *testing.T) {
	chart := docs(t, helmTemplate(t))
	base := kustomizeObjects(t, baseDir)
	cd, kd := find(chart, "DaemonSet"), find(base, "DaemonSet")
	if cd == nil || kd == nil {
		t.Fatal("no DaemonSet in one of the renderings")
	}
	var d []string
	diff(podInSubstance(t, cd), podInSubstance(t, kd), "spec.template.spec", &d)
	for _, l := range d {
		t.Error(l)
	}
	// The same update strategy and the prometheus annotations on the pods.
	if !reflect.DeepEqual(dig(cd, "spec", "updateStrategy"), dig(kd, "spec", "updateStrategy")) {
		t.Errorf("updateStrategy %v vs %v", dig(cd, "spec", "updateStrategy"), dig(kd, "spec", "updateStrategy"))
	}
	for _, k := range []string{"prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path"} {
		if dig(cd, "spec", "template", "metadata", "annotations", k) != dig(kd, "spec", "template", "metadata", "annotations", k) {
			t.Errorf("pod annotation %s differs", k)
		}
	}
	cc, kc := find(chart, "ConfigMap"), find(base, "ConfigMap")
	if dig(cc, "data", "auditship.yaml") != dig(kc, "data", "auditship.yaml") {
		t.Error("the chart's default config differs from deploy/kubernetes/auditship.yaml")
	}
	// The same other objects (the Namespace is Helm's --create-namespace).
	kinds := func(objs []map[string]any) []string {
		var k []string
		for _, o := range objs {
			if o["kind"] != "Namespace" {
				k = append(k, o["kind"].(string))
			}
		}
		sort.Strings(k)
		return k
	}
	if a, b := kinds(chart), kinds(base); !reflect.DeepEqual(a, b) {
		t.Errorf("objects: chart %v, kustomize %v", a, b)
	}
	// And every property the kustomize base is held to.
	b, err := parseBundle(helmTemplate(t))
	if err != nil {
		t.Fatal(err)
	}
	wantNoProblems(t, check(b, baseOpts))
}

// mode: kube-audit-rest renders deploy/examples/kube-audit-rest's Deployment.
func TestHelmKubeAuditRestIsTheExample(t *testing.T) {
	chart := docs(t, helmTemplate(t, "-f", filepath.Join(examplesDir, "kube-audit-rest.yaml")))
	ex := kustomizeObjects(t, "examples/kube-audit-rest")
	cd, kd := find(chart, "Deployment"), find(ex, "Deployment")
	if cd == nil || kd == nil {
		t.Fatal("no Deployment in one of the renderings")
	}
	var d []string
	diff(podInSubstance(t, cd), podInSubstance(t, kd), "spec.template.spec", &d)
	for _, l := range d {
		t.Error(l)
	}
	if dig(cd, "spec", "replicas") != dig(kd, "spec", "replicas") {
		t.Errorf("replicas %v vs %v", dig(cd, "spec", "replicas"), dig(kd, "spec", "replicas"))
	}
	cc, kc := find(chart, "ConfigMap"), find(ex, "ConfigMap")
	var a, b map[string]any
	_ = yaml.Unmarshal([]byte(dig(cc, "data", "auditship.yaml").(string)), &a)
	_ = yaml.Unmarshal([]byte(dig(kc, "data", "auditship.yaml").(string)), &b)
	if !reflect.DeepEqual(a, b) {
		t.Error("the kube-audit-rest example's agent config differs from deploy/examples/kube-audit-rest/auditship.yaml")
	}
	for _, kind := range []string{"ValidatingWebhookConfiguration", "Certificate", "Issuer", "Service"} {
		if find(chart, kind) == nil {
			t.Errorf("no %s in the kube-audit-rest mode", kind)
		}
	}
	if find(chart, "DaemonSet") != nil || find(chart, "PriorityClass") != nil {
		t.Error("kube-audit-rest mode renders node-agent objects")
	}
	hook := find(chart, "ValidatingWebhookConfiguration")
	if dig(hook, "webhooks") == nil || !reflect.DeepEqual(dig(hook, "webhooks").([]any)[0].(map[string]any)["rules"], dig(find(ex, "ValidatingWebhookConfiguration"), "webhooks").([]any)[0].(map[string]any)["rules"]) {
		t.Error("webhook rules differ from the example")
	}
}

// Every example values file renders objects the kustomize checks accept.
func TestHelmExamples(t *testing.T) {
	for _, v := range exampleValues(t) {
		t.Run(filepath.Base(v), func(t *testing.T) {
			out := helmTemplate(t, "-f", v)
			objs := docs(t, out)
			switch filepath.Base(v) {
			case "monitoring.yaml":
				for _, kind := range []string{"ServiceMonitor", "PrometheusRule", "ConfigMap"} {
					if find(objs, kind) == nil {
						t.Errorf("no %s", kind)
					}
				}
				var dash map[string]any
				for _, o := range objs {
					if s, ok := dig(o, "data", "auditship.json").(string); ok {
						if err := json.Unmarshal([]byte(s), &dash); err != nil {
							t.Errorf("dashboard ConfigMap: %v", err)
						}
						if dig(o, "metadata", "labels", "grafana_dashboard") != "1" {
							t.Error("dashboard ConfigMap lacks the sidecar label")
						}
					}
				}
				if dash == nil {
					t.Error("no dashboard ConfigMap")
				}
			case "existing-config.yaml":
				ds := find(objs, "DaemonSet")
				found := false
				for _, vol := range dig(ds, "spec", "template", "spec", "volumes").([]any) {
					if dig(vol, "configMap", "name") == "my-auditship-config" {
						found = true
					}
				}
				if !found || find(objs, "ConfigMap") != nil {
					t.Error("existingConfigMap: the DaemonSet must mount it and the chart must not create one")
				}
				if dig(ds, "spec", "template", "metadata", "annotations", "checksum/config") != nil {
					t.Error("hotReload: no checksum annotation (it would restart pods on every change)")
				}
				if dig(ds, "spec", "template", "spec", "priorityClassName") != "system-node-critical" || find(objs, "PriorityClass") != nil {
					t.Error("priorityClass.create: false must use the named class and create none")
				}
			case "webhook.yaml":
				ds := find(objs, "DaemonSet")
				var port map[string]any
				for _, c := range dig(ds, "spec", "template", "spec", "containers").([]any) {
					for _, p := range dig(c, "ports").([]any) {
						if dig(p, "name") == "webhook" {
							port = p.(map[string]any)
						}
					}
				}
				if port == nil || port["hostIP"] != "127.0.0.1" || port["hostPort"] != float64(9443) || port["containerPort"] != float64(9443) {
					t.Errorf("webhook port: %v, want 9443 published on the node's 127.0.0.1 only", port)
				}
				if dig(ds, "spec", "template", "spec", "hostNetwork") == true {
					t.Error("the webhook needs no hostNetwork")
				}
				b, err := parseBundle(out)
				if err != nil {
					t.Fatal(err)
				}
				cfg, _, err := b.agentConfig()
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"cert_file", "key_file", "client_ca_file"} {
					f := cfg.str("inputs", "apiserver-webhook", "tls", k)
					if m := mountFor(b.agentContainer(), f); m == nil || m.Name != "webhook-tls" || !m.ReadOnly {
						t.Errorf("tls.%s %s is not on the read-only webhook-tls Secret mount", k, f)
					}
				}
				if v := b.volume("webhook-tls"); v == nil || v.Secret == nil || v.Secret.SecretName != "auditship-webhook-tls" {
					t.Error("no webhook-tls volume from the Secret")
				}
			case "kube-audit-rest.yaml":
				b, err := parseBundle(out)
				if err != nil {
					t.Fatal(err)
				}
				wantNoProblems(t, check(b, checkOpts{requireCredentials: true}))
			}
		})
	}
}

// values.schema.json turns typos and wrong types into install errors.
func TestHelmValuesSchema(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"misspelt top-level key", []string{"--set", "imagee.tag=v1"}, "imagee"},
		{"misspelt nested key", []string{"--set", "serviceMonitor.enable=true"}, "enable"},
		{"unknown mode", []string{"--set", "mode=sidecar"}, "mode"},
		{"port out of range", []string{"--set", "http.port=70000"}, "port"},
		{"relative host path", []string{"--set", "auditLog.hostPath=var/log"}, "hostPath"},
		{"empty credentials secret", []string{"--set", "credentials.existingSecret="}, "existingSecret"},
		{"webhook without its TLS secret", []string{"--set", "webhook.enabled=true"}, "tlsSecret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := helm(t, append([]string{"template", "auditship", chartDir, "--kube-version", kubeVersion}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want a schema error naming %q, got %v", tc.want, err)
			}
		})
	}
}

// Every rendering decodes strictly with the Kubernetes API types (unknown fields are
// errors), through deploy/manifestcheck, a module of its own.
func TestRenderingsDecodeStrictly(t *testing.T) {
	dir := t.TempDir()
	var files []string
	write := func(name string, out []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, out, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	write("default.yaml", helmTemplate(t))
	for _, v := range exampleValues(t) {
		write("chart-"+filepath.Base(v), helmTemplate(t, "-f", v))
	}
	for _, d := range []string{baseDir, kindDir, "examples/kube-audit-rest"} {
		out, err := kustomizeCmd(d).Output()
		if err != nil {
			t.Fatalf("render %s: %v", d, err)
		}
		write("kustomize-"+strings.ReplaceAll(d, "/", "-")+".yaml", out)
	}
	alerts, err := os.ReadFile("kubernetes/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	write("alerts.yaml", alerts)
	cmd := exec.Command("go", append([]string{"run", "."}, files...)...)
	cmd.Dir = "manifestcheck"
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("strict decoding: %v\n%s", err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
}

// The chart's copies of the base config, the alerts and the dashboard are the originals.
func TestChartCopiesInStep(t *testing.T) {
	same := func(a, b string) {
		x, err1 := os.ReadFile(a)
		y, err2 := os.ReadFile(b)
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs from %s: copy it over (%v %v)", a, b, err1, err2)
		}
	}
	same(chartDir+"/files/auditship.yaml", "kubernetes/auditship.yaml")
	same(chartDir+"/files/dashboard.json", "grafana/auditship.json")
	var rule struct {
		Spec any `json:"spec"`
	}
	var spec any
	a, _ := os.ReadFile("kubernetes/alerts.yaml")
	b, _ := os.ReadFile(chartDir + "/files/alerts-spec.yaml")
	if yaml.Unmarshal(a, &rule) != nil || yaml.Unmarshal(b, &spec) != nil || !reflect.DeepEqual(rule.Spec, spec) {
		t.Error("files/alerts-spec.yaml differs from the spec of deploy/kubernetes/alerts.yaml")
	}
}

var metricName = regexp.MustCompile(`\b(auditship_[a-z0-9_]+|process_[a-z0-9_]+|go_[a-z0-9_]+)\b`)

// promQL returns every expression of the dashboard and the alerts.
func promQL(t *testing.T) map[string][]string {
	t.Helper()
	exprs := map[string][]string{}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	b, err := os.ReadFile("grafana/auditship.json")
	if err != nil || json.Unmarshal(b, &dash) != nil {
		t.Fatalf("read dashboard: %v", err)
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs["dashboard: "+p.Title] = append(exprs["dashboard: "+p.Title], tg.Expr)
		}
	}
	var rules struct {
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert string `json:"alert"`
					Expr  string `json:"expr"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	a, _ := os.ReadFile("kubernetes/alerts.yaml")
	if err := yaml.Unmarshal(a, &rules); err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Spec.Groups {
		for _, r := range g.Rules {
			exprs["alert: "+r.Alert] = append(exprs["alert: "+r.Alert], r.Expr)
		}
	}
	return exprs
}

// exportedMetrics returns the names of every series family the agent registers: the
// auditship_* names in metrics/metrics.go (written whole, or as the suffix after
// "auditship_"), and the Go runtime and process collectors' families it also registers.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	// The metric names are string literals anywhere in the metrics package's files.
	files, err := filepath.Glob(filepath.Join("..", "metrics", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("metrics package sources: %v (%d files)", err, len(files))
	}
	names := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`"(auditship_)?([a-z0-9_]+)"`).FindAllStringSubmatch(string(src), -1) {
			names["auditship_"+m[2]] = true
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	return names
}
