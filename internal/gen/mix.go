// The modelled cluster: the categories of request and their weights, and who sends them.

package gen

import (
	"strings"
)

// Category names the kind of request an event models.
type Category string

// The categories of the mix.
const (
	CatLease          Category = "lease"
	CatSystemRead     Category = "system-read"
	CatNodeStatus     Category = "node-status"
	CatPodStatus      Category = "pod-status"
	CatConfigMap      Category = "configmap"
	CatEventCreate    Category = "event-create"
	CatSecretReadSA   Category = "secret-read-sa"
	CatSecretRead     Category = "secret-read-person"
	CatSecretWrite    Category = "secret-write"
	CatTokenReview    Category = "tokenreview"
	CatTokenRequest   Category = "tokenrequest"
	CatHealth         Category = "health"
	CatExec           Category = "exec"
	CatDenied         Category = "denied"
	CatUnauthorized   Category = "unauthorized"
	CatPersonWrite    Category = "person-write"
	CatControllerSync Category = "sa-write"
)

type weighted struct {
	cat    Category
	weight int // per 10000
	write  bool
}

// mix is roughly what a 50-node cluster's audit log holds, per 10000 events.
var mix = []weighted{
	{CatLease, 3200, true},
	{CatSystemRead, 2400, false},
	{CatNodeStatus, 600, true},
	{CatPodStatus, 700, true},
	{CatConfigMap, 250, true},
	{CatEventCreate, 900, true},
	{CatSecretReadSA, 200, false},
	{CatSecretRead, 30, false},
	{CatSecretWrite, 50, true},
	{CatTokenReview, 100, true},
	{CatTokenRequest, 150, true},
	{CatHealth, 800, false},
	{CatExec, 25, true},
	{CatDenied, 80, false},
	{CatUnauthorized, 15, false},
	{CatPersonWrite, 100, true},
	{CatControllerSync, 400, true},
}

var (
	nodes      = []string{"ip-10-0-1-17.ec2.internal", "ip-10-0-1-52.ec2.internal", "ip-10-0-2-9.ec2.internal", "ip-10-0-2-201.ec2.internal", "ip-10-0-3-88.ec2.internal", "ip-10-0-3-140.ec2.internal"}
	namespaces = []string{"default", "payments", "web", "monitoring", "cert-manager", "argocd", "kube-system"}
	appNames   = []string{"checkout", "cart", "frontend", "api", "worker", "search", "auth"}
	people     = []user{
		{"alice@example.com", []string{"devs", "system:authenticated"}},
		{"bob@example.com", []string{"sre", "system:authenticated"}},
		{"kubernetes-admin", []string{"system:masters", "system:authenticated"}},
		{"oidc:carol", []string{"oidc:platform", "system:authenticated"}},
	}
	serviceAccounts = []string{"cert-manager:cert-manager", "argocd:argocd-application-controller", "monitoring:prometheus",
		"kube-system:coredns", "payments:checkout", "web:frontend", "kube-system:external-secrets"}
	controllers = []string{"deployment-controller", "replicaset-controller", "endpointslice-controller", "horizontal-pod-autoscaler", "job-controller"}
)

type user struct {
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
}

func sa(full string) user {
	ns, _, _ := strings.Cut(full, ":")
	return user{"system:serviceaccount:" + full, []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}}
}

func nodeUser(n string) user {
	return user{"system:node:" + n, []string{"system:nodes", "system:authenticated"}}
}

const (
	kubeletAgent = "kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46"
	kcmAgent     = "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/leader-election"
	kubectlAgent = "kubectl/v1.31.1 (darwin/arm64) kubernetes/948afe5"
)
