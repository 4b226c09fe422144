package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const (
	baseDir          = "kubernetes"
	kindDir          = "examples/kind"
	kubeAuditRestDir = "examples/kube-audit-rest"
	// hostAuditDir is where kube-apiserver writes its audit log on a control-plane node
	// (kubeadm's convention, and the kind example's).
	hostAuditDir = "/var/log/kubernetes/audit"
)

var baseOpts = checkOpts{nodeAgent: true, requireCredentials: true, auditDir: hostAuditDir}

func wantNoProblems(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

func TestBaseProperties(t *testing.T) {
	b := render(t, baseDir)
	wantNoProblems(t, check(b, baseOpts))
	if b.WorkloadKind != "DaemonSet" {
		t.Fatalf("workload %s", b.WorkloadKind)
	}
}

// TestChecksCatchBreakage breaks one property of the rendered base at a time: each must
// be reported, so that no check above passes by construction.
func TestChecksCatchBreakage(t *testing.T) {
	good := render(t, baseDir)
	if p := check(good, baseOpts); len(p) > 0 {
		t.Fatalf("base has problems: %v", p)
	}
	ptr := func(v bool) *bool { return &v }
	agent := func(b *bundle) *container { return b.agentContainer() }
	mount := func(b *bundle, path string) *volumeMount { return mountFor(agent(b), path) }
	cases := []struct {
		name   string
		break_ func(b *bundle)
		want   string
	}{
		{"deployment instead of daemonset", func(b *bundle) { b.WorkloadKind = "Deployment" }, "want a DaemonSet"},
		{"no affinity", func(b *bundle) { b.Pod.Affinity = nil }, "scheduling:"},
		{"affinity term without control-plane", func(b *bundle) {
			b.Pod.Affinity.NodeAffinity.Required.Terms[0].MatchExpressions = b.Pod.Affinity.NodeAffinity.Required.Terms[0].MatchExpressions[1:]
		}, "scheduling:"},
		{"no control-plane toleration", func(b *bundle) { b.Pod.Tolerations = b.Pod.Tolerations[1:] }, "tolerations: none for node-role.kubernetes.io/control-plane"},
		{"no master toleration", func(b *bundle) { b.Pod.Tolerations = b.Pod.Tolerations[:1] }, "tolerations: none for node-role.kubernetes.io/master"},
		{"audit mount writable", func(b *bundle) { mount(b, hostAuditDir+"/audit.log").ReadOnly = false }, "must be readOnly"},
		{"audit log from an emptyDir", func(b *bundle) {
			v := b.volume(mount(b, hostAuditDir+"/audit.log").Name)
			v.HostPath = nil
		}, "is not on a hostPath volume"},
		{"data dir not on the host", func(b *bundle) { b.volume(mount(b, "/var/lib/auditship").Name).HostPath = nil }, "is not a hostPath"},
		{"liveness on the wrong path", func(b *bundle) { agent(b).LivenessProbe.Exec.Command[4] = "/metrics" }, "livenessProbe: path"},
		{"no readiness", func(b *bundle) { agent(b).ReadinessProbe = nil }, "readinessProbe: want exec `auditship probe` /readyz"},
		{"probe at another address", func(b *bundle) { agent(b).ReadinessProbe.Exec.Command[3] = "127.0.0.1:9999" }, "is not http.probe_listen's"},
		{"probe by another command", func(b *bundle) { agent(b).LivenessProbe.Exec.Command[0] = "/bin/curl" }, "livenessProbe: command"},
		{"httpGet probe on the pod IP", func(b *bundle) {
			pr := &probe{}
			if err := json.Unmarshal([]byte(`{"httpGet":{"path":"/readyz","port":"http"}}`), pr); err != nil {
				panic(err)
			}
			agent(b).ReadinessProbe = pr
		}, "readinessProbe: want exec"},
		{"no memory limit", func(b *bundle) { delete(agent(b).Resources.Limits, "memory") }, "resources.limits.memory"},
		{"no cpu request", func(b *bundle) { delete(agent(b).Resources.Requests, "cpu") }, "resources.requests.cpu"},
		{"writable root", func(b *bundle) { agent(b).SecurityContext.ReadOnlyRootFilesystem = ptr(false) }, "readOnlyRootFilesystem"},
		{"privilege escalation", func(b *bundle) { agent(b).SecurityContext.AllowPrivilegeEscalation = nil }, "allowPrivilegeEscalation"},
		{"privileged", func(b *bundle) { agent(b).SecurityContext.Privileged = ptr(true) }, "privileged: want false"},
		{"capabilities kept", func(b *bundle) { agent(b).SecurityContext.Capabilities.Drop = nil }, "capabilities.drop"},
		{"capability added", func(b *bundle) { agent(b).SecurityContext.Capabilities.Add = []string{"DAC_OVERRIDE"} }, "capabilities.add"},
		{"no seccomp", func(b *bundle) {
			agent(b).SecurityContext.SeccompProfile = nil
			b.Pod.SecurityContext.SeccompProfile = nil
		}, "seccompProfile"},
		{"host network", func(b *bundle) { b.Pod.HostNetwork = true }, "hostNetwork"},
		{"no priority class", func(b *bundle) { b.Pod.PriorityClassName = "" }, "priorityClassName: not set"},
		{"unknown priority class", func(b *bundle) { b.Pod.PriorityClassName = "missing" }, "no such PriorityClass"},
		{"token automounted", func(b *bundle) { b.ServiceAccounts[b.Pod.ServiceAccountName] = ptr(true) }, "automountServiceAccountToken: false"},
		{"default service account", func(b *bundle) { b.Pod.ServiceAccountName = "" }, "dedicated ServiceAccount"},
		{"a ClusterRoleBinding", func(b *bundle) {
			b.Objects = append(b.Objects, header{Kind: "ClusterRoleBinding", Metadata: objectMeta{Name: "auditship"}})
		}, "RBAC: ClusterRoleBinding"},
		{"config not from a ConfigMap", func(b *bundle) { b.volume(mount(b, "/etc/auditship/auditship.yaml").Name).ConfigMap = nil }, "is not a ConfigMap"},
		{"config file not in the ConfigMap", func(b *bundle) { agent(b).Args = []string{"run", "-c", "/etc/auditship/other.yaml"} }, `has no key "other.yaml"`},
		{"credentials not from a Secret", func(b *bundle) {
			b.volume(mount(b, "/var/run/secrets/auditship/x").Name).Secret = nil
		}, "is not a Secret"},
		{"grace shorter than shutdown_timeout", func(b *bundle) { *b.Pod.TerminationGracePeriodSeconds = 30 }, "must exceed shutdown_timeout"},
		{"no NODE_NAME", func(b *bundle) { agent(b).Env = agent(b).Env[1:] }, "env NODE_NAME"},
		{"not scraped", func(b *bundle) {
			delete(b.PodMeta.Annotations, "prometheus.io/scrape")
			b.Services = nil
		}, "prometheus:"},
		{"no /tmp", func(b *bundle) {
			c := agent(b)
			c.VolumeMounts = slicesDelete(c.VolumeMounts, "/tmp")
		}, "/tmp: no volume"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := good.clone(t)
			tc.break_(b)
			problems := check(b, baseOpts)
			if !strings.Contains(strings.Join(problems, "\n"), tc.want) {
				t.Errorf("want a problem containing %q, got %q", tc.want, problems)
			}
		})
	}

	for _, tc := range []struct{ name, from, to, want string }{
		{"probes on the network", "probe_listen: 127.0.0.1:8687", "probe_listen: 0.0.0.0:8687", "is not loopback"},
		{"probes on the pod IP's listener", "probe_listen: 127.0.0.1:8687", "", "http.probe_listen is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := good.clone(t)
			cm := b.volume(mountFor(b.agentContainer(), "/etc/auditship/auditship.yaml").Name).ConfigMap.Name
			cfg := b.ConfigMaps[cm]["auditship.yaml"]
			if !strings.Contains(cfg, tc.from) {
				t.Fatalf("the base's config has no %q", tc.from)
			}
			b.ConfigMaps[cm]["auditship.yaml"] = strings.Replace(cfg, tc.from, tc.to, 1)
			if p := strings.Join(check(b, baseOpts), "\n"); !strings.Contains(p, tc.want) {
				t.Errorf("want a problem containing %q, got %q", tc.want, p)
			}
		})
	}
}

func slicesDelete(ms []volumeMount, path string) []volumeMount {
	var out []volumeMount
	for _, m := range ms {
		if m.MountPath != path {
			out = append(out, m)
		}
	}
	return out
}

// TestBaseFiltersAreRecommended keeps the DaemonSet's filters the project's recommended
// SIEM filters (configs/siem-recommended.yaml, whose reduction and coverage are tested).
func TestBaseFiltersAreRecommended(t *testing.T) {
	b := render(t, baseDir)
	cfg, _, err := b.agentConfig()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "configs", "siem-recommended.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rec agentConfig
	if err := yaml.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	if rec["filters"] == nil || !reflect.DeepEqual(cfg["filters"], rec["filters"]) {
		t.Error("deploy/kubernetes/auditship.yaml filters differ from configs/siem-recommended.yaml: copy them over")
	}
}

func TestKindOverlay(t *testing.T) {
	b := render(t, kindDir)
	wantNoProblems(t, check(b, checkOpts{nodeAgent: true, auditDir: hostAuditDir}))
	if img := b.agentContainer().Image; img != "auditship:dev" {
		t.Errorf("image %q, want auditship:dev (what `kind load docker-image` loads)", img)
	}
	cfg, _, err := b.agentConfig()
	if err != nil {
		t.Fatal(err)
	}
	k := readKindConfig(t)
	wantNoProblems(t, checkKind(k, cfg.inputPaths()))

	// The kind checks can fail too.
	broken := []struct {
		name   string
		break_ func(k *kindCluster)
		want   string
	}{
		{"log path outside the DaemonSet's hostPath", func(k *kindCluster) { k.setArg("audit-log-path", "/var/log/audit.log") }, "audit-log-path"},
		{"no policy", func(k *kindCluster) { k.setArg("audit-policy-file", "") }, "audit-policy-file"},
		{"log directory not mounted into kube-apiserver", func(k *kindCluster) { k.patch.APIServer.ExtraVolumes = k.patch.APIServer.ExtraVolumes[:1] }, "no writable extraVolume"},
		{"policy not mounted into the node", func(k *kindCluster) { k.node.ExtraMounts = nil }, "no extraMount"},
	}
	for _, tc := range broken {
		t.Run(tc.name, func(t *testing.T) {
			k := readKindConfig(t)
			tc.break_(k)
			if p := strings.Join(checkKind(k, cfg.inputPaths()), "\n"); !strings.Contains(p, tc.want) {
				t.Errorf("want a problem containing %q, got %q", tc.want, p)
			}
		})
	}
}

type kindNode struct {
	Role        string `json:"role"`
	ExtraMounts []struct {
		HostPath      string `json:"hostPath"`
		ContainerPath string `json:"containerPath"`
		ReadOnly      bool   `json:"readOnly"`
	} `json:"extraMounts"`
	KubeadmConfigPatches []string `json:"kubeadmConfigPatches"`
}

// kindCluster is the control-plane node of kind-config.yaml and its kubeadm patch.
type kindCluster struct {
	node  *kindNode
	patch struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		APIServer  struct {
			ExtraArgs []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"extraArgs"`
			ExtraVolumes []struct {
				HostPath  string `json:"hostPath"`
				MountPath string `json:"mountPath"`
				ReadOnly  bool   `json:"readOnly"`
			} `json:"extraVolumes"`
		} `json:"apiServer"`
	}
}

func (k *kindCluster) arg(name string) string {
	for _, a := range k.patch.APIServer.ExtraArgs {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

func (k *kindCluster) setArg(name, value string) {
	for i := range k.patch.APIServer.ExtraArgs {
		if k.patch.APIServer.ExtraArgs[i].Name == name {
			k.patch.APIServer.ExtraArgs[i].Value = value
		}
	}
}

func readKindConfig(t *testing.T) *kindCluster {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(kindDir, "kind-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Kind  string     `json:"kind"`
		Nodes []kindNode `json:"nodes"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	k := &kindCluster{}
	for i := range raw.Nodes {
		if raw.Nodes[i].Role == "control-plane" {
			k.node = &raw.Nodes[i]
		}
	}
	if raw.Kind != "Cluster" || k.node == nil {
		t.Fatalf("kind-config.yaml: want kind Cluster with a control-plane node")
	}
	for _, p := range k.node.KubeadmConfigPatches {
		if err := yaml.Unmarshal([]byte(p), &k.patch); err != nil {
			t.Fatalf("kubeadmConfigPatches: %v", err)
		}
		if k.patch.Kind == "ClusterConfiguration" {
			break
		}
	}
	if k.patch.Kind != "ClusterConfiguration" || k.patch.APIVersion != "kubeadm.k8s.io/v1beta4" {
		t.Fatalf("kind-config.yaml: want a kubeadm.k8s.io/v1beta4 ClusterConfiguration patch, got %s %s", k.patch.APIVersion, k.patch.Kind)
	}
	return k
}

// checkKind: kube-apiserver writes its audit log where the DaemonSet and the overlay's
// input look, and reads a policy that kind mounts from this directory.
func checkKind(k *kindCluster, inputs []string) []string {
	var p []string
	logPath, policy := k.arg("audit-log-path"), k.arg("audit-policy-file")
	inVolume := func(file string, writable bool) bool {
		for _, v := range k.patch.APIServer.ExtraVolumes {
			// hostPath == mountPath: the static pod sees the node's path unchanged.
			if v.HostPath == v.MountPath && within(file, v.MountPath) && (!writable || !v.ReadOnly) {
				return true
			}
		}
		return false
	}
	switch {
	case logPath == "":
		p = append(p, "audit-log-path: not set")
	case filepath.Dir(logPath) != hostAuditDir:
		p = append(p, fmt.Sprintf("audit-log-path %s: not in %s, which the DaemonSet mounts", logPath, hostAuditDir))
	case !inVolume(logPath, true):
		p = append(p, fmt.Sprintf("audit-log-path %s: no writable extraVolume holds it", logPath))
	}
	matched := false
	for _, g := range inputs {
		if ok, _ := filepath.Match(g, logPath); ok {
			matched = true
		}
	}
	if !matched {
		p = append(p, fmt.Sprintf("audit-log-path %s: no input of the overlay reads it (%v)", logPath, inputs))
	}
	if policy == "" {
		return append(p, "audit-policy-file: not set")
	}
	if !inVolume(policy, false) {
		p = append(p, fmt.Sprintf("audit-policy-file %s: no extraVolume holds it", policy))
	}
	found := false
	for _, m := range k.node.ExtraMounts {
		if m.ContainerPath != policy {
			continue
		}
		found = true
		data, err := os.ReadFile(filepath.Join(kindDir, m.HostPath))
		if err != nil {
			p = append(p, fmt.Sprintf("audit-policy-file: extraMount source: %v", err))
			continue
		}
		var pol struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Rules      []any  `json:"rules"`
		}
		if err := yaml.Unmarshal(data, &pol); err != nil || pol.APIVersion != "audit.k8s.io/v1" || pol.Kind != "Policy" || len(pol.Rules) == 0 {
			p = append(p, fmt.Sprintf("audit-policy-file: %s is not an audit.k8s.io/v1 Policy with rules (%v)", m.HostPath, err))
		}
	}
	if !found {
		p = append(p, fmt.Sprintf("audit-policy-file %s: no extraMount brings it into the node", policy))
	}
	return p
}

func TestKubeAuditRestExample(t *testing.T) {
	b := render(t, kubeAuditRestDir)
	wantNoProblems(t, check(b, checkOpts{requireCredentials: true}))
	wantNoProblems(t, checkSidecar(b))

	good := b
	cases := []struct {
		name   string
		break_ func(b *bundle)
		want   string
	}{
		{"readiness on /readyz", func(b *bundle) {
			c := b.agentContainer()
			readyz := *c.LivenessProbe.Exec
			readyz.Command = append(slices.Clone(readyz.Command[:4]), "/readyz")
			c.ReadinessProbe = &probe{Exec: &readyz}
		}, "readinessProbe"},
		{"separate volumes", func(b *bundle) {
			c := b.agentContainer()
			for i := range c.VolumeMounts {
				if c.VolumeMounts[i].MountPath == "/tmp" {
					c.VolumeMounts[i].Name = "auditship-state"
				}
			}
		}, "not the volume kube-audit-rest writes"},
		{"no shared uid", func(b *bundle) { b.Pod.SecurityContext.RunAsUser = nil }, "runAsUser"},
		{"plain container", func(b *bundle) {
			b.Pod.Containers = append(b.Pod.Containers, *b.agentContainer())
			b.Pod.InitContainers = nil
		}, "native sidecar"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := good.clone(t)
			tc.break_(b)
			if p := strings.Join(checkSidecar(b), "\n"); !strings.Contains(p, tc.want) {
				t.Errorf("want a problem containing %q, got %q", tc.want, p)
			}
		})
	}
}

// checkSidecar: auditship reads the very file kube-audit-rest writes, as the same user,
// outlives it, and never takes the webhook out of service.
func checkSidecar(b *bundle) []string {
	var p []string
	var kar *container
	for i := range b.Pod.Containers {
		if b.Pod.Containers[i].Name == "kube-audit-rest" {
			kar = &b.Pod.Containers[i]
		}
	}
	agent := b.agentContainer()
	if kar == nil || agent == nil {
		return []string{"want containers kube-audit-rest and auditship"}
	}
	if !strings.Contains(kar.Image, "richardoc/kube-audit-rest") {
		p = append(p, fmt.Sprintf("kube-audit-rest image %q", kar.Image))
	}
	logFile := "/tmp/kube-audit-rest.log"
	for _, a := range kar.Args {
		if v, ok := strings.CutPrefix(a, "--logger-filename="); ok {
			logFile = v
		}
	}
	cfg, _, err := b.agentConfig()
	if err != nil {
		return append(p, err.Error())
	}
	karMount := mountFor(kar, logFile)
	if karMount == nil {
		return append(p, fmt.Sprintf("kube-audit-rest writes %s on no volume", logFile))
	}
	inputs := cfg.inputPaths()
	if len(inputs) != 1 || inputs[0] != logFile {
		p = append(p, fmt.Sprintf("inputs %v: want %s", inputs, logFile))
	}
	if m := mountFor(agent, logFile); m == nil || m.Name != karMount.Name || m.MountPath != karMount.MountPath {
		p = append(p, fmt.Sprintf("auditship: %s is not the volume kube-audit-rest writes (%s)", logFile, karMount.Name))
	} else if !m.ReadOnly {
		p = append(p, "auditship: the log volume should be mounted readOnly")
	}
	inputSections, _ := cfg["inputs"].(map[string]any)
	for name, in := range inputSections {
		if m, _ := in.(map[string]any); m["format"] != "kube-audit-rest" {
			p = append(p, fmt.Sprintf("inputs.%s.format: want kube-audit-rest", name))
		}
	}
	if agent.ReadinessProbe != nil {
		p = append(p, "auditship readinessProbe: a sidecar's readiness is the pod's; an output outage would take the webhook out of service")
	}
	if agent.RestartPolicy != "Always" || !slicesContainsName(b.Pod.InitContainers, "auditship") {
		p = append(p, "auditship: want a native sidecar (initContainers, restartPolicy: Always) so it stops after kube-audit-rest")
	}
	// kube-audit-rest's log is 0600: the same uid must read it.
	psc := b.Pod.SecurityContext
	if psc == nil || psc.RunAsUser == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		p = append(p, "pod securityContext: want runAsNonRoot and one runAsUser for both containers")
	}
	for _, c := range []*container{kar, agent} {
		if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
			p = append(p, fmt.Sprintf("%s: per-container runAsUser; the pod's must apply to both", c.Name))
		}
	}
	p = append(p, checkHardening(b, kar)...)
	return p
}

func slicesContainsName(cs []container, name string) bool {
	for _, c := range cs {
		if c.Name == name {
			return true
		}
	}
	return false
}

// TestConfigsValidate runs `auditship validate` on the config each rendering mounts, with
// every *_file pointed at a stand-in (validate checks that credential files exist).
func TestConfigsValidate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/auditship")
	}
	bin := filepath.Join(t.TempDir(), "auditship")
	build := exec.Command("go", "build", "-o", bin, "./cmd/auditship")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/auditship: %v\n%s", err, out)
	}
	for _, dir := range []string{baseDir, kindDir, kubeAuditRestDir} {
		t.Run(dir, func(t *testing.T) {
			b := render(t, dir)
			cfg, text, err := b.agentConfig()
			if err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			file := filepath.Join(tmp, "auditship.yaml")
			if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "validate", "-c", file)
			cmd.Env = os.Environ()
			for key := range cfg.secretFiles() {
				stand := filepath.Join(tmp, strings.ReplaceAll(key, ".", "_"))
				if err := os.WriteFile(stand, []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
				env := "AUDITSHIP_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
				cmd.Env = append(cmd.Env, env+"="+stand)
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("auditship validate: %v\n%s", err, out)
			}
		})
	}
}

// TestAlertsUseExportedMetrics keeps alerts.yaml and the Grafana dashboard in step with the
// metrics the agent exports (metrics/metrics.go): a renamed series would silence an alert
// or blank a panel for good.
func TestAlertsUseExportedMetrics(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(baseDir, "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal(data, &rule); err != nil {
		t.Fatal(err)
	}
	exported := exportedMetrics(t)
	want := map[string]bool{"alert: AuditshipNoProgress": false, "alert: AuditshipDataLost": false, "alert: AuditshipDeadLetters": false}
	for where, exprs := range promQL(t) {
		if _, ok := want[where]; ok {
			want[where] = true
		}
		for _, e := range exprs {
			for _, n := range metricName.FindAllString(e, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
				if !exported[base] {
					t.Errorf("%s: %s is not a metric the agent exports", where, n)
				}
			}
		}
	}
	if rule.Kind != "PrometheusRule" {
		t.Errorf("kind %q, want PrometheusRule", rule.Kind)
	}
	for a, seen := range want {
		if !seen {
			t.Errorf("%s missing", a)
		}
	}
}
