package deploy

import (
	"fmt"
	"net"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// agentConfig is the auditship config a rendering mounts, as plain YAML.
type agentConfig map[string]any

func (c agentConfig) str(keys ...string) string {
	var cur any = map[string]any(c)
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[k]
	}
	s, _ := cur.(string)
	return s
}

// inputPaths lists every input's path globs.
func (c agentConfig) inputPaths() []string {
	var out []string
	inputs, _ := c["inputs"].(map[string]any)
	for _, in := range inputs {
		m, _ := in.(map[string]any)
		paths, _ := m["paths"].([]any)
		for _, p := range paths {
			if s, ok := p.(string); ok {
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
}

// secretFiles maps each outputs.*...*_file key (credentials, CA) to its path.
func (c agentConfig) secretFiles() map[string]string {
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, val := range m {
			key := prefix + "." + k
			if s, ok := val.(string); ok && strings.HasSuffix(k, "_file") && s != "" {
				out[key] = s
			}
			walk(key, val)
		}
	}
	walk("outputs", c["outputs"])
	return out
}

// agentContainer returns the auditship container: a regular one, or a native sidecar.
func (b *bundle) agentContainer() *container {
	for _, list := range [][]container{b.Pod.Containers, b.Pod.InitContainers} {
		for i := range list {
			if list[i].Name == "auditship" {
				return &list[i]
			}
		}
	}
	return nil
}

func (b *bundle) volume(name string) *volume {
	for i := range b.Pod.Volumes {
		if b.Pod.Volumes[i].Name == name {
			return &b.Pod.Volumes[i]
		}
	}
	return nil
}

// mountFor returns the mount of c under which file lies (the deepest one).
func mountFor(c *container, file string) *volumeMount {
	var best *volumeMount
	for i := range c.VolumeMounts {
		m := &c.VolumeMounts[i]
		if m.SubPath == "" && within(file, m.MountPath) && (best == nil || len(m.MountPath) > len(best.MountPath)) {
			best = m
		}
	}
	return best
}

func within(file, dir string) bool {
	dir = strings.TrimSuffix(dir, "/")
	return file == dir || strings.HasPrefix(file, dir+"/")
}

// configFlag is the -c argument.
func configFlag(c *container) string {
	for i, a := range c.Args {
		switch {
		case (a == "-c" || a == "--config") && i+1 < len(c.Args):
			return c.Args[i+1]
		case strings.HasPrefix(a, "--config="):
			return strings.TrimPrefix(a, "--config=")
		}
	}
	return ""
}

// agentConfig finds the config file the auditship container is started with, in the
// ConfigMap mounted there.
func (b *bundle) agentConfig() (agentConfig, string, error) {
	c := b.agentContainer()
	if c == nil {
		return nil, "", fmt.Errorf("no auditship container")
	}
	file := configFlag(c)
	if file == "" {
		return nil, "", fmt.Errorf("auditship container: no -c FILE in args %q", c.Args)
	}
	m := mountFor(c, file)
	if m == nil {
		return nil, "", fmt.Errorf("config %s: not on any volume mount", file)
	}
	v := b.volume(m.Name)
	if v == nil || v.ConfigMap == nil {
		return nil, "", fmt.Errorf("config %s: volume %q is not a ConfigMap", file, m.Name)
	}
	data, ok := b.ConfigMaps[v.ConfigMap.Name]
	if !ok {
		return nil, "", fmt.Errorf("config %s: ConfigMap %q is not in the rendering", file, v.ConfigMap.Name)
	}
	text, ok := data[strings.TrimPrefix(strings.TrimPrefix(file, m.MountPath), "/")]
	if !ok {
		return nil, "", fmt.Errorf("config %s: ConfigMap %q has no key %q", file, v.ConfigMap.Name, path.Base(file))
	}
	var cfg agentConfig
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		return nil, "", fmt.Errorf("config %s: %w", file, err)
	}
	return cfg, text, nil
}

type checkOpts struct {
	// nodeAgent: a DaemonSet on control-plane nodes reading the host's audit log.
	nodeAgent bool
	// requireCredentials: at least one output credential file (from a Secret).
	requireCredentials bool
	// auditDir is the host directory kube-apiserver writes its audit log to.
	auditDir string
}

// check returns every property of the rendering that does not hold, one line each.
func check(b *bundle, o checkOpts) []string {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	c := b.agentContainer()
	if c == nil {
		return []string{"no auditship container"}
	}
	cfg, _, err := b.agentConfig()
	if err != nil {
		bad("config from ConfigMap: %v", err)
		cfg = agentConfig{}
	}

	if o.nodeAgent {
		if b.WorkloadKind != "DaemonSet" {
			bad("workload: want a DaemonSet, got %s", b.WorkloadKind)
		}
		p = append(p, checkControlPlane(&b.Pod)...)
		// The audit log: a read-only hostPath mount that holds every input glob.
		var auditMount *volumeMount
		for _, g := range cfg.inputPaths() {
			m := mountFor(c, g)
			if m == nil {
				bad("audit log: input path %s is on no volume mount", g)
				continue
			}
			auditMount = m
			v := b.volume(m.Name)
			switch {
			case v == nil || v.HostPath == nil:
				bad("audit log: input path %s is not on a hostPath volume", g)
			case v.HostPath.Path != o.auditDir:
				bad("audit log: hostPath %s, want %s", v.HostPath.Path, o.auditDir)
			}
			if !m.ReadOnly {
				bad("audit log: mount %s must be readOnly", m.MountPath)
			}
		}
		if auditMount == nil {
			bad("audit log: no input reads it")
		}
		// Checkpoints: a writable hostPath at data_dir, so they outlive the pod.
		dataDir := cfg.str("data_dir")
		if m := mountFor(c, dataDir); dataDir == "" || m == nil {
			bad("data_dir %q: not on a volume mount", dataDir)
		} else if v := b.volume(m.Name); v == nil || v.HostPath == nil {
			bad("data_dir %s: volume %q is not a hostPath", dataDir, m.Name)
		} else if m.ReadOnly {
			bad("data_dir %s: mount must be writable", dataDir)
		}
		if b.Pod.PriorityClassName == "" {
			bad("priorityClassName: not set")
		} else if !b.PriorityClasses[b.Pod.PriorityClassName] && !strings.HasPrefix(b.Pod.PriorityClassName, "system-") {
			bad("priorityClassName %q: no such PriorityClass in the rendering", b.Pod.PriorityClassName)
		}
		if !hasEnvField(c, "NODE_NAME", "spec.nodeName") {
			bad("env NODE_NAME: want valueFrom fieldRef spec.nodeName")
		}
		if !b.scraped() {
			bad("prometheus: neither pod annotation prometheus.io/scrape nor a Service selecting the pod")
		}
		p = append(p, checkProbe(c.ReadinessProbe, "readinessProbe", "/readyz", cfg)...)
	}

	p = append(p, checkProbe(c.LivenessProbe, "livenessProbe", "/healthz", cfg)...)
	for _, k := range []string{"cpu", "memory"} {
		if c.Resources.Requests[k] == "" {
			bad("resources.requests.%s: not set", k)
		}
		if c.Resources.Limits[k] == "" {
			bad("resources.limits.%s: not set", k)
		}
	}
	p = append(p, checkHardening(b, c)...)
	p = append(p, checkServiceAccount(b)...)

	// Credentials: every *_file of an output lies on a Secret volume.
	files := cfg.secretFiles()
	if o.requireCredentials && len(files) == 0 {
		bad("credentials: no output reads a *_file from a Secret")
	}
	for key, f := range files {
		m := mountFor(c, f)
		if m == nil {
			bad("credentials: %s %s is on no volume mount", key, f)
			continue
		}
		if v := b.volume(m.Name); v == nil || v.Secret == nil {
			bad("credentials: %s %s: volume %q is not a Secret", key, f, m.Name)
		}
	}

	// SIGTERM drains for up to shutdown_timeout; the kubelet must wait longer.
	if st := cfg.str("shutdown_timeout"); st != "" {
		d, err := time.ParseDuration(st)
		switch {
		case err != nil:
			bad("shutdown_timeout %q: %v", st, err)
		case b.Pod.TerminationGracePeriodSeconds == nil || time.Duration(*b.Pod.TerminationGracePeriodSeconds)*time.Second <= d:
			bad("terminationGracePeriodSeconds: must exceed shutdown_timeout %s", d)
		}
	} else {
		bad("shutdown_timeout: not set in the config (terminationGracePeriodSeconds is judged against it)")
	}

	// /tmp is the only writable place a Go program may reach for besides its volumes.
	if m := mountFor(c, "/tmp"); m == nil || m.MountPath != "/tmp" {
		bad("/tmp: no volume mounted (readOnlyRootFilesystem)")
	} else if v := b.volume(m.Name); v == nil || v.EmptyDir == nil {
		bad("/tmp: want an emptyDir")
	}
	sort.Strings(p)
	return p
}

func checkControlPlane(pod *podSpec) []string {
	var p []string
	// Either a nodeSelector, or required affinity in which every term asks for a
	// control-plane role (terms are ORed).
	_, scheduled := pod.NodeSelector["node-role.kubernetes.io/control-plane"]
	if a := pod.Affinity; !scheduled && a != nil && a.NodeAffinity != nil && a.NodeAffinity.Required != nil {
		terms := a.NodeAffinity.Required.Terms
		scheduled = len(terms) > 0
		sawControlPlane := false
		for _, term := range terms {
			ok := false
			for _, e := range term.MatchExpressions {
				if (e.Key == "node-role.kubernetes.io/control-plane" || e.Key == "node-role.kubernetes.io/master") && e.Operator == "Exists" {
					ok = true
					sawControlPlane = sawControlPlane || e.Key == "node-role.kubernetes.io/control-plane"
				}
			}
			scheduled = scheduled && ok
		}
		scheduled = scheduled && sawControlPlane
	}
	if !scheduled {
		p = append(p, "scheduling: neither nodeSelector nor required nodeAffinity limits the pod to node-role.kubernetes.io/control-plane")
	}
	for _, key := range []string{"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"} {
		if !slices.ContainsFunc(pod.Tolerations, func(t toleration) bool {
			return t.Key == key && (t.Operator == "Exists" || t.Operator == "") && (t.Effect == "NoSchedule" || t.Effect == "")
		}) {
			p = append(p, "tolerations: none for "+key+":NoSchedule")
		}
	}
	return p
}

// checkProbe wants an exec probe `/auditship probe --addr ADDR PATH` with ADDR the
// agent's http.probe_listen on loopback: the probes are then reachable from inside the
// container only. An httpGet probe would need them on the pod IP, where anyone in the
// cluster can ask /readyz (and make it check the outputs).
func checkProbe(pr *probe, name, want string, cfg agentConfig) []string {
	if pr == nil || pr.Exec == nil {
		return []string{name + ": want exec `auditship probe` " + want}
	}
	cmd := pr.Exec.Command
	if len(cmd) != 5 || cmd[0] != "/auditship" || cmd[1] != "probe" || cmd[2] != "--addr" {
		return []string{fmt.Sprintf("%s: command %q, want [/auditship probe --addr HOST:PORT %s]", name, cmd, want)}
	}
	var p []string
	if cmd[4] != want {
		p = append(p, fmt.Sprintf("%s: path %q, want %s", name, cmd[4], want))
	}
	listen := cfg.str("http", "probe_listen")
	host, _, err := net.SplitHostPort(listen)
	switch {
	case listen == "":
		p = append(p, name+": http.probe_listen is not set; the probes would be served on http.listen, on the pod IP")
	case err != nil:
		p = append(p, fmt.Sprintf("%s: http.probe_listen %q: %v", name, listen, err))
	case host != "127.0.0.1" && host != "localhost" && host != "::1":
		p = append(p, fmt.Sprintf("%s: http.probe_listen %s is not loopback; the probes would be reachable on the network", name, listen))
	case cmd[3] != listen:
		p = append(p, fmt.Sprintf("%s: --addr %s is not http.probe_listen's %s", name, cmd[3], listen))
	}
	return p
}

func checkHardening(b *bundle, c *container) []string {
	var p []string
	sc := c.SecurityContext
	if sc == nil {
		return []string{"securityContext: not set"}
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		p = append(p, "securityContext.readOnlyRootFilesystem: want true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		p = append(p, "securityContext.allowPrivilegeEscalation: want false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		p = append(p, "securityContext.privileged: want false")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		p = append(p, "securityContext.capabilities.drop: want ALL")
	} else if len(sc.Capabilities.Add) > 0 {
		p = append(p, fmt.Sprintf("securityContext.capabilities.add: want none, got %v", sc.Capabilities.Add))
	}
	seccompOK := sc.SeccompProfile != nil && sc.SeccompProfile.Type == "RuntimeDefault"
	if psc := b.Pod.SecurityContext; sc.SeccompProfile == nil && psc != nil && psc.SeccompProfile != nil {
		seccompOK = psc.SeccompProfile.Type == "RuntimeDefault"
	}
	if !seccompOK {
		p = append(p, "seccompProfile: want RuntimeDefault")
	}
	if b.Pod.HostNetwork {
		p = append(p, "hostNetwork: want false (the metrics port would open on the node)")
	}
	return p
}

func checkServiceAccount(b *bundle) []string {
	var p []string
	for _, o := range b.Objects {
		switch o.Kind {
		case "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding":
			p = append(p, fmt.Sprintf("RBAC: %s %s grants API permissions; the agent needs none", o.Kind, o.Metadata.Name))
		}
	}
	sa := b.Pod.ServiceAccountName
	automount, ok := b.ServiceAccounts[sa]
	switch {
	case sa == "" || sa == "default":
		p = append(p, "serviceAccountName: want a dedicated ServiceAccount")
	case !ok:
		p = append(p, fmt.Sprintf("serviceAccountName %q: no such ServiceAccount in the rendering", sa))
	case automount == nil || *automount:
		p = append(p, fmt.Sprintf("ServiceAccount %s: want automountServiceAccountToken: false", sa))
	}
	if a := b.Pod.AutomountServiceAccountToken; a != nil && *a {
		p = append(p, "pod automountServiceAccountToken: want false")
	}
	return p
}

func hasEnvField(c *container, name, fieldPath string) bool {
	return slices.ContainsFunc(c.Env, func(e envVar) bool {
		return e.Name == name && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == fieldPath
	})
}

// scraped: Prometheus finds the pod by its annotations or through a Service.
func (b *bundle) scraped() bool {
	if b.PodMeta.Annotations["prometheus.io/scrape"] == "true" {
		return true
	}
	for _, s := range b.Services {
		if s.Metadata.Annotations["prometheus.io/scrape"] != "true" || len(s.Spec.Selector) == 0 {
			continue
		}
		all := true
		for k, v := range s.Spec.Selector {
			all = all && b.PodMeta.Labels[k] == v
		}
		if all {
			return true
		}
	}
	return false
}
