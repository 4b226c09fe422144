package kube

import (
	"fmt"
	"strings"
	"time"
)

// app is a workload of the simulated cluster: a Deployment's pods, with the Secret and
// ConfigMap they mount and the Service in front of them.
type app struct {
	ns, name, sa string
	replicas     int
	image        string
}

// apps is the cluster's workload: the add-ons a typical cluster runs and a handful of
// applications (a data table).
var apps = []app{
	{"kube-system", "coredns", "coredns", 2, "registry.k8s.io/coredns/coredns:v1.12.3"},
	{"kube-system", "metrics-server", "metrics-server", 1, "registry.k8s.io/metrics-server/metrics-server:v0.8.0"},
	{"cert-manager", "cert-manager", "cert-manager", 1, "quay.io/jetstack/cert-manager-controller:v1.18.2"},
	{"ingress-nginx", "ingress-nginx-controller", "ingress-nginx", 1, "registry.k8s.io/ingress-nginx/controller:v1.13.1"},
	{"monitoring", "prometheus", "prometheus", 1, "quay.io/prometheus/prometheus:v3.5.0"},
	{"monitoring", "kube-state-metrics", "kube-state-metrics", 1, "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.16.0"},
	{"payments", "checkout", "checkout", 4, "registry.example/payments/checkout:2.14.1"},
	{"payments", "cart", "cart", 3, "registry.example/payments/cart:1.9.0"},
	{"payments", "auth", "auth", 2, "registry.example/payments/auth:3.2.7"},
	{"web", "frontend", "frontend", 4, "registry.example/web/frontend:5.0.3"},
	{"web", "api", "api", 4, "registry.example/web/api:5.0.3"},
	{"web", "search", "search", 3, "registry.example/web/search:0.42.0"},
	{"web", "worker", "worker", 4, "registry.example/web/worker:5.0.3"},
}

// simPod is a pod of the simulated cluster.
type simPod struct {
	ns, name, app, sa, node, uid, secret, configMap string
	tokenOffset                                     int // tick phase of its token refresh
}

func meta(name, ns string, labels map[string]any) map[string]any {
	m := map[string]any{"name": name}
	if ns != "" {
		m["namespace"] = ns
	}
	if labels != nil {
		m["labels"] = labels
	}
	return m
}

func ownerRef(apiVersion, kind, name, uid string) []any {
	return []any{map[string]any{"apiVersion": apiVersion, "kind": kind, "name": name, "uid": uid, "controller": true, "blockOwnerDeletion": true}}
}

// nodeObject is a Node as a kubelet registers it: labels, addresses, capacity, the
// images it holds (the largest part of a Node), conditions.
func nodeObject(name string, i int) map[string]any {
	var images []any
	for j, img := range []string{"registry.k8s.io/kube-proxy:v1.37.2", "registry.k8s.io/pause:3.10", "registry.k8s.io/coredns/coredns:v1.12.3",
		"quay.io/prometheus/node-exporter:v1.9.1", "docker.io/calico/node:v3.30.2", "docker.io/calico/cni:v3.30.2",
		"registry.example/payments/checkout:2.14.1", "registry.example/payments/cart:1.9.0", "registry.example/web/frontend:5.0.3",
		"registry.example/web/api:5.0.3", "registry.example/web/search:0.42.0", "registry.example/web/worker:5.0.3"} {
		repo, tag, _ := strings.Cut(img, ":")
		images = append(images, map[string]any{
			"names":     []any{fmt.Sprintf("%s@sha256:%064x", repo, (i+1)*1000003+j*7919), img},
			"sizeBytes": 9_000_000 + j*13_750_113 + i*4096,
		})
		_ = tag
	}
	res := map[string]any{"cpu": "8", "ephemeral-storage": "101430960Ki", "hugepages-2Mi": "0", "memory": "32817352Ki", "pods": "110"}
	return obj("v1", "Node", map[string]any{
		"name": name,
		"labels": map[string]any{"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
			"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "topology.kubernetes.io/zone": fmt.Sprintf("zone-%c", 'a'+i%3)},
		"annotations": map[string]any{"volumes.kubernetes.io/controller-managed-attach-detach": "true",
			"node.alpha.kubernetes.io/ttl": "0", "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock"},
	}, map[string]any{
		"spec": map[string]any{"podCIDR": fmt.Sprintf("10.244.%d.0/24", i), "podCIDRs": []any{fmt.Sprintf("10.244.%d.0/24", i)}},
		"status": map[string]any{
			"addresses":       []any{map[string]any{"type": "InternalIP", "address": fmt.Sprintf("10.0.1.%d", 10+i)}, map[string]any{"type": "Hostname", "address": name}},
			"allocatable":     res,
			"capacity":        res,
			"conditions":      nodeConditions(now()),
			"daemonEndpoints": map[string]any{"kubeletEndpoint": map[string]any{"Port": 10250}},
			"images":          images,
			"nodeInfo": map[string]any{"architecture": "amd64", "bootID": fmt.Sprintf("%08x-1d2c-4b5a-9e8f-%012x", i, i*977),
				"containerRuntimeVersion": "containerd://2.1.4", "kernelVersion": "6.12.48-1-cloud-amd64", "kubeProxyVersion": "",
				"kubeletVersion": "v1.37.2", "machineID": fmt.Sprintf("%032x", i*7+1), "operatingSystem": "linux",
				"osImage": "Debian GNU/Linux 13 (trixie)", "systemUUID": fmt.Sprintf("ec2%05x-aaaa-bbbb-cccc-%012x", i, i)},
		},
	})
}

// nodeConditions are the kubelet's five node conditions, heartbeat at t.
func nodeConditions(t string) []any {
	var out []any
	for _, c := range [][4]string{
		{"MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
		{"DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
		{"PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
		{"Ready", "True", "KubeletReady", "kubelet is posting ready status"},
	} {
		out = append(out, map[string]any{"type": c[0], "status": c[1], "reason": c[2], "message": c[3],
			"lastHeartbeatTime": t, "lastTransitionTime": "2026-11-28T09:12:44Z"})
	}
	return out
}

// nodeStatusPatch is the strategic merge patch a kubelet sends with its periodic status
// report: the conditions' heartbeats, in the order the kubelet keeps them.
func nodeStatusPatch() map[string]any {
	t := now()[:19] + "Z"
	var order, conds []any
	for _, c := range nodeConditions(t) {
		m := c.(map[string]any)
		order = append(order, map[string]any{"type": m["type"]})
		conds = append(conds, map[string]any{"type": m["type"], "lastHeartbeatTime": t})
	}
	return map[string]any{"status": map[string]any{"$setElementOrder/conditions": order, "conditions": conds}}
}

// leaseObject is a Lease as its holder creates it.
func leaseObject(name, ns, holder string, seconds int) map[string]any {
	return obj("coordination.k8s.io/v1", "Lease", meta(name, ns, nil), map[string]any{
		"spec": map[string]any{"holderIdentity": holder, "leaseDurationSeconds": seconds, "acquireTime": now(), "renewTime": now(), "leaseTransitions": 0},
	})
}

// podObject is a pod of a as its ReplicaSet's controller creates it (ownerReference,
// env from the Secret, the ConfigMap and Secret as volumes), placed on node.
func podObject(a app, name, rs, rsUID, node string) map[string]any {
	return obj("v1", "Pod", map[string]any{
		"name": name, "namespace": a.ns, "generateName": rs + "-",
		"labels":          map[string]any{"app.kubernetes.io/name": a.name, "pod-template-hash": rs[len(rs)-10:]},
		"ownerReferences": ownerRef("apps/v1", "ReplicaSet", rs, rsUID),
	}, map[string]any{"spec": map[string]any{
		"nodeName":           node,
		"serviceAccountName": a.sa,
		"containers": []any{map[string]any{
			"name": a.name, "image": a.image, "imagePullPolicy": "IfNotPresent",
			"ports": []any{map[string]any{"containerPort": 8080, "name": "http", "protocol": "TCP"}},
			"env": []any{map[string]any{"name": "LOG_LEVEL", "value": "info"},
				map[string]any{"name": "DB_PASSWORD", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": a.name + "-credentials", "key": "password"}}}},
			"resources":      map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}, "limits": map[string]any{"memory": "512Mi"}},
			"readinessProbe": map[string]any{"httpGet": map[string]any{"path": "/healthz", "port": "http"}, "periodSeconds": 10},
			"volumeMounts": []any{map[string]any{"name": "config", "mountPath": "/etc/" + a.name},
				map[string]any{"name": "credentials", "mountPath": "/var/run/credentials", "readOnly": true}},
		}},
		"volumes": []any{map[string]any{"name": "config", "configMap": map[string]any{"name": a.name + "-config"}},
			map[string]any{"name": "credentials", "secret": map[string]any{"secretName": a.name + "-credentials"}}},
	}})
}

// podStatusPatch is the kubelet status manager's strategic merge patch for a pod that
// reached phase.
func podStatusPatch(pod *simPod, image, phase string, ip int, ready bool) map[string]any {
	t := now()[:19] + "Z"
	st := "True"
	if !ready {
		st = "False"
	}
	var order, conds []any
	for _, c := range []string{"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"} {
		order = append(order, map[string]any{"type": c})
		s := st
		if c == "Initialized" || c == "PodScheduled" {
			s = "True"
		}
		conds = append(conds, map[string]any{"type": c, "status": s, "lastTransitionTime": t, "lastProbeTime": nil})
	}
	state := map[string]any{"running": map[string]any{"startedAt": t}}
	if phase == "Succeeded" {
		state = map[string]any{"terminated": map[string]any{"exitCode": 0, "reason": "Completed", "startedAt": t, "finishedAt": t,
			"containerID": fmt.Sprintf("containerd://%064x", ip)}}
	}
	return map[string]any{
		"metadata": map[string]any{"uid": pod.uid},
		"status": map[string]any{
			"$setElementOrder/conditions": order, "conditions": conds, "phase": phase,
			"hostIP": "10.0.1.10", "hostIPs": []any{map[string]any{"ip": "10.0.1.10"}},
			"podIP": fmt.Sprintf("10.244.1.%d", ip%250+2), "podIPs": []any{map[string]any{"ip": fmt.Sprintf("10.244.1.%d", ip%250+2)}},
			"startTime": t,
			"containerStatuses": []any{map[string]any{"name": pod.app, "ready": ready, "restartCount": 0, "started": ready,
				"image": image, "imageID": fmt.Sprintf("%s@sha256:%064x", strings.Split(image, ":")[0], ip),
				"containerID": fmt.Sprintf("containerd://%064x", ip), "state": state}},
		},
	}
}

// laterStatusPatch is a status patch after the first: the addresses and start time are
// unchanged, so the kubelet's patch leaves them out.
func laterStatusPatch(pod *simPod, image, phase string, ready bool) map[string]any {
	patch := podStatusPatch(pod, image, phase, 0, ready)
	for _, f := range []string{"podIP", "podIPs", "hostIP", "hostIPs", "startTime"} {
		delete(patch["status"].(map[string]any), f)
	}
	return patch
}

// coreEvent is a core/v1 Event as a kubelet's or a controller's event recorder writes it
// (named after the object and the time in nanoseconds, as client-go's recorder does).
func coreEvent(ns, kind, name, uid, reason, message, component, host string) map[string]any {
	t := now()[:19] + "Z"
	src := map[string]any{"component": component}
	if host != "" {
		src["host"] = host
	}
	return obj("v1", "Event", meta(fmt.Sprintf("%s.%x", name, time.Now().UnixNano()), ns, nil), map[string]any{
		"involvedObject": map[string]any{"apiVersion": "v1", "kind": kind, "name": name, "namespace": ns, "uid": uid},
		"reason":         reason, "message": message, "source": src, "type": "Normal", "count": 1,
		"firstTimestamp": t, "lastTimestamp": t, "reportingComponent": component, "reportingInstance": host,
	})
}

// schedulerEvent is the events.k8s.io/v1 Event kube-scheduler writes when it binds a pod.
func schedulerEvent(ns, pod, uid, node string, seq int) map[string]any {
	return obj("events.k8s.io/v1", "Event", meta(fmt.Sprintf("%s.%x", pod, 0x18f0000+seq), ns, nil), map[string]any{
		"eventTime": now(), "reportingController": "default-scheduler", "reportingInstance": "default-scheduler-cp-1",
		"action": "Binding", "reason": "Scheduled", "type": "Normal",
		"regarding": map[string]any{"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": ns, "uid": uid},
		"note":      fmt.Sprintf("Successfully assigned %s/%s to %s", ns, pod, node),
	})
}

// tokenRequest is the TokenRequest a kubelet sends for a pod's projected token.
func tokenRequest(pod, uid string) map[string]any {
	return map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": map[string]any{
		"audiences": []any{"https://kubernetes.default.svc.cluster.local"}, "expirationSeconds": 3607,
		"boundObjectRef": map[string]any{"apiVersion": "v1", "kind": "Pod", "name": pod, "uid": uid},
	}}
}
