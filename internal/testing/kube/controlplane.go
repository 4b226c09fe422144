package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"time"
)

// ControlPlane sends, as themselves and at their default rates, what a small cluster's
// own components send to its API server in steady state, so a recording of it has the
// composition of a real control plane's audit log rather than a security test's. One
// simulated tick is 10 s of cluster time (the kubelet's lease renewal interval); ticks
// are sent back to back, so an hour of cluster time takes a few minutes.
//
// Per tick, with the rates' sources:
//   - every kubelet renews its Lease in kube-node-lease (every 10 s) and patches its
//     Node's status every 5 min (nodeStatusReportFrequency) — kubernetes.io "Node
//     heartbeats" (docs/reference/node/node-status);
//   - kube-controller-manager, kube-scheduler and two operators (cert-manager,
//     ingress-nginx) renew their leader-election Leases every 2 s (client-go
//     leaderelection: renew every RetryPeriod, --leader-elect-retry-period=2s);
//   - every informer (kubelets, kube-proxy, kube-controller-manager's shared informers,
//     the garbage collector's metadata informers, the scheduler, CoreDNS, the operators,
//     Prometheus, kube-state-metrics, metrics-server) re-opens its watch after a random
//     5-10 min (client-go tools/cache/reflector.go: minWatchTimeout 5 min × [1, 2));
//   - the kubelet's probes of the API server: /readyz every 1 s and /livez every 10 s,
//     anonymous (kubeadm's kube-apiserver static Pod manifest);
//   - the garbage collector's and the resource-quota controller's API discovery every
//     30 s, Prometheus scraping /metrics every 30 s;
//   - kubelets renewing each pod's projected service account token (80% of its 1 h
//     lifetime), a flaky readiness probe's Event patched every minute;
//   - a CronJob every 5 min (cronjob-controller, job-controller, scheduler, kubelet),
//     and over the run two CI rollouts, two people's kubectl sessions and one round of
//     Driver.Round's security traffic (Secrets, RBAC, denials, exec, tokens).
//
// The GKE/GCE audit policy (kubernetes/kubernetes cluster/gce/gci/configure-helper.sh)
// names the same requests as "manually identified as high-volume and low-risk": kube-proxy
// watches, nodes' gets of their Node, controller-manager and scheduler leader election,
// the API server's own gets, health checks.
type ControlPlane struct {
	d       *Driver
	c       *Cluster
	opts    ControlPlaneOptions
	nodes   []string
	rng     *rand.Rand // the tick schedule's; used by Run's goroutine only
	start   time.Time
	mu      sync.Mutex
	objects map[string]map[string]any // API path → the last object the server returned
	rv      string                    // a recent resourceVersion, for watches
	watches []*watcher
	pods    []*simPod
	seq     int
}

// ControlPlaneOptions size the simulated cluster.
type ControlPlaneOptions struct {
	// Nodes is the number of kubelets: cp-1 (the control-plane node) and node-1 ...
	// Default 6.
	Nodes int
	// Minutes of cluster time to send. Default 30.
	Minutes int
	// Seed makes the schedule (watch renewals, token refreshes) reproducible.
	Seed int64
}

func (o ControlPlaneOptions) withDefaults() ControlPlaneOptions {
	if o.Nodes == 0 {
		o.Nodes = 6
	}
	if o.Minutes == 0 {
		o.Minutes = 30
	}
	return o
}

// Identities of the components, as kubeadm names them (its kubeconfigs' client
// certificates, and --use-service-account-credentials for the controllers).
const (
	kcmUser       = "system:kube-controller-manager"
	schedulerUser = "system:kube-scheduler"
	alice         = "alice@example.com"
	bob           = "bob@example.com"

	kubeletAgent   = "kubelet/v1.37.2 (linux/amd64) kubernetes/1e2f3a4"
	kcmAgent       = "kube-controller-manager/v1.37.2 (linux/amd64) kubernetes/1e2f3a4/leader-election"
	schedulerAgent = "kube-scheduler/v1.37.2 (linux/amd64) kubernetes/1e2f3a4/leader-election"
	probeAgent     = "kube-probe/1.37"
)

// saUser is a service account's username.
func saUser(ns, name string) string { return "system:serviceaccount:" + ns + ":" + name }

// serviceAccounts lists the service accounts the traffic runs as (namespace, name): the
// controllers kube-controller-manager runs with their own credentials, the add-ons, and
// a CI deployer.
var serviceAccounts = [][2]string{
	{"kube-system", "generic-garbage-collector"}, {"kube-system", "resourcequota-controller"},
	{"kube-system", "replicaset-controller"}, {"kube-system", "deployment-controller"},
	{"kube-system", "job-controller"}, {"kube-system", "cronjob-controller"},
	{"kube-system", "endpointslice-controller"}, {"kube-system", "kube-proxy"},
	{"kube-system", "coredns"}, {"kube-system", "metrics-server"},
	{"cert-manager", "cert-manager"}, {"ingress-nginx", "ingress-nginx"},
	{"monitoring", "prometheus"}, {"monitoring", "kube-state-metrics"}, {"ci", "deployer"},
}

// NodeNames returns the kubelets' node names for n nodes.
func NodeNames(n int) []string {
	names := []string{"cp-1"}
	for i := 1; i < n; i++ {
		names = append(names, fmt.Sprintf("node-%d", i))
	}
	return names
}

// ControlPlaneUsers returns the identities ControlPlane sends as, for Options.Users.
func ControlPlaneUsers(o ControlPlaneOptions) []User {
	o = o.withDefaults()
	var us []User
	for _, n := range NodeNames(o.Nodes) {
		us = append(us, User{Name: "system:node:" + n, Groups: []string{"system:nodes"}})
	}
	us = append(us, User{Name: kcmUser}, User{Name: schedulerUser},
		User{Name: alice, Groups: []string{"devs"}}, User{Name: bob, Groups: []string{"sre"}})
	for _, sa := range serviceAccounts {
		us = append(us, User{Name: saUser(sa[0], sa[1]), Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + sa[0]}})
	}
	return us
}

// NewControlPlane returns the traffic for c, which must have been started with
// Options{Users: ControlPlaneUsers(o), NodeAuthorizer: true}. d sends the security
// round (its secrets are recorded as usual).
func NewControlPlane(c *Cluster, d *Driver, o ControlPlaneOptions) *ControlPlane {
	o = o.withDefaults()
	return &ControlPlane{d: d, c: c, opts: o, nodes: NodeNames(o.Nodes), rng: rand.New(rand.NewSource(o.Seed)),
		start: time.Now(), objects: map[string]map[string]any{}}
}

// job is one unit of a tick's traffic: a request, or a sequence that must stay in order.
type job func(ctx context.Context) error

// Run sets the cluster up (namespaces, RBAC, nodes, workloads: written by the admin,
// before the steady state) and calls ready, then sends Minutes of steady-state traffic.
func (p *ControlPlane) Run(ctx context.Context, ready func() error) error {
	if err := p.setup(ctx); err != nil {
		return fmt.Errorf("control plane setup: %w", err)
	}
	if err := ready(); err != nil {
		return err
	}
	p.planWatches()
	ticks := p.opts.Minutes * 6
	for t := range ticks {
		if err := p.runJobs(ctx, p.tickJobs(t, ticks)); err != nil {
			return fmt.Errorf("tick %d: %w", t, err)
		}
	}
	return nil
}

func (p *ControlPlane) runJobs(ctx context.Context, jobs []job) error {
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := j(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// tickJobs is the traffic of tick t of n (10 s of cluster time each). A schedule table:
// each line is one component's periodic work.
func (p *ControlPlane) tickJobs(t, n int) []job {
	var jobs []job
	for i, node := range p.nodes {
		jobs = append(jobs, p.renew(nodeUser(node), kubeletAgent, "kube-node-lease", node, 1))
		if t%30 == (i*5)%30 {
			jobs = append(jobs, p.nodeStatus(node))
		}
	}
	jobs = append(jobs,
		p.renew(kcmUser, kcmAgent, "kube-system", "kube-controller-manager", 5),
		p.renew(schedulerUser, schedulerAgent, "kube-system", "kube-scheduler", 5),
		p.renew(saUser("cert-manager", "cert-manager"), "cert-manager-controller/v1.18.2 (linux/amd64) cert-manager/leader-election", "kube-system", "cert-manager-controller", 5),
		p.renew(saUser("ingress-nginx", "ingress-nginx"), "nginx-ingress-controller/v1.13.1 (linux/amd64) ingress-nginx/leader-election", "ingress-nginx", "ingress-nginx-leader", 5),
		p.probes())
	if t%3 == 0 {
		jobs = append(jobs, p.discovery(saUser("kube-system", "generic-garbage-collector")),
			p.discovery(saUser("kube-system", "resourcequota-controller")), p.scrape())
	}
	if t%6 == 3 {
		jobs = append(jobs, p.flakyProbeEvent(t))
	}
	for _, w := range p.watches {
		if w.next == t {
			jobs = append(jobs, p.watch(w))
			w.next = t + 30 + p.rng.Intn(31)
		}
	}
	for _, pod := range p.pods {
		if pod.node != "" && (t+pod.tokenOffset)%288 == 0 {
			jobs = append(jobs, p.tokenRefresh(pod))
		}
	}
	if t%30 == 7 {
		jobs = append(jobs, p.cronJobRun(t/30))
	}
	if t == n/3 || t == 2*n/3 {
		jobs = append(jobs, p.rollout(t))
	}
	if t == n/6+2 {
		jobs = append(jobs, p.session(alice, "payments"))
	}
	if t == n/2+5 {
		jobs = append(jobs, p.session(bob, "web"))
	}
	if t == n/2 {
		jobs = append(jobs, func(ctx context.Context) error { return p.d.Round(ctx, "team-sec") })
	}
	return jobs
}

func nodeUser(n string) string { return "system:node:" + n }

// call sends r as user (a Cluster.Tokens name, Anonymous, or "" for the admin) and
// returns the response object.
func (p *ControlPlane) call(ctx context.Context, user string, r request) (map[string]any, error) {
	switch user {
	case "", Anonymous:
		r.token = user
	default:
		tok, ok := p.c.Tokens[user]
		if !ok {
			return nil, fmt.Errorf("no token for %s (Options.Users)", user)
		}
		r.token = tok
	}
	_, b, err := p.d.do(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("as %s: %w", user, err)
	}
	var m map[string]any
	if json.Unmarshal(b, &m) == nil {
		if rv, _ := dig(m, "metadata", "resourceVersion").(string); rv != "" {
			p.mu.Lock()
			p.rv = rv
			p.mu.Unlock()
		}
	}
	return m, nil
}

// keep stores the object at path and returns it.
func (p *ControlPlane) keep(path string, o map[string]any) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.objects[path] = o
	return o
}

func (p *ControlPlane) object(path string) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.objects[path]
}

func (p *ControlPlane) next() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	return p.seq
}

// dig returns the value at a path of nested JSON objects, or nil.
func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// now is the time components write into objects, in metav1.MicroTime's format.
func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000000Z") }

// renew renews a Lease times times in a row, as its holder does (client-go and the
// kubelet update with the object they last read, so the request body is the whole Lease).
func (p *ControlPlane) renew(user, agent, ns, name string, times int) job {
	path := fmt.Sprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", ns, name)
	return func(ctx context.Context) error {
		for range times {
			l := p.object(path)
			if l == nil {
				return fmt.Errorf("lease %s was not created in setup", path)
			}
			spec, _ := l["spec"].(map[string]any)
			spec["renewTime"] = now()
			out, err := p.call(ctx, user, request{method: "PUT", path: path, body: l, agent: agent, want: []int{200}})
			if err != nil {
				return err
			}
			p.keep(path, out)
		}
		return nil
	}
}

// probes are the kubelet's readiness (every 1 s) and liveness (every 10 s) probes of the
// API server, which carry no credentials.
func (p *ControlPlane) probes() job {
	return func(ctx context.Context) error {
		for i := range 11 {
			path := "/readyz"
			if i == 10 {
				path = "/livez"
			}
			if _, err := p.call(ctx, Anonymous, request{method: "GET", path: path, agent: probeAgent, accept: "*/*", want: []int{200}}); err != nil {
				return err
			}
		}
		return nil
	}
}

// discovery is a controller's periodic API discovery (aggregated discovery documents).
func (p *ControlPlane) discovery(user string) job {
	agent := "kube-controller-manager/v1.37.2 (linux/amd64) kubernetes/1e2f3a4/" + user[strings.LastIndexByte(user, ':')+1:]
	const accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
	return func(ctx context.Context) error {
		for _, path := range []string{"/api", "/apis"} {
			if _, err := p.call(ctx, user, request{method: "GET", path: path, agent: agent, accept: accept, want: []int{200}}); err != nil {
				return err
			}
		}
		return nil
	}
}

// scrape is Prometheus reading the API server's metrics.
func (p *ControlPlane) scrape() job {
	return func(ctx context.Context) error {
		_, err := p.call(ctx, saUser("monitoring", "prometheus"), request{method: "GET", path: "/metrics", agent: "Prometheus/3.5.0", accept: "text/plain", want: []int{200}})
		return err
	}
}
