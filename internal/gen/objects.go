// Kubernetes objects as the API server returns them, filled from the random source.

package gen

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

type obj = map[string]any

func meta(s *src, name, ns string, extra obj) obj {
	m := obj{
		"name": name, "uid": s.uid(), "resourceVersion": fmt.Sprint(1000000 + s.intn(9000000)),
		"creationTimestamp": s.ts(-time.Duration(24+s.intn(2000)) * time.Hour),
	}
	if ns != "" {
		m["namespace"] = ns
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func lease(s *src, name, ns, holder string) obj {
	spec := obj{"holderIdentity": holder, "leaseDurationSeconds": 40, "renewTime": s.micro(0)}
	extra := obj{}
	owned := obj{"spec": spec}
	manager := name // the leader-election leases: kube-controller-manager, kube-scheduler
	if ns == "kube-node-lease" {
		manager = "kubelet"
		// The kubelet makes its Node the owner of its lease.
		extra["ownerReferences"] = []any{obj{"apiVersion": "v1", "kind": "Node", "name": name, "uid": s.uid()}}
		owned["metadata"] = only(extra, "ownerReferences")
	} else {
		spec["leaseDurationSeconds"], spec["leaseTransitions"], spec["acquireTime"] = 15, s.intn(20), s.micro(-time.Duration(s.intn(100))*time.Hour)
	}
	extra["managedFields"] = []any{managedFields(s, manager, "coordination.k8s.io/v1", "", owned)}
	return obj{"kind": "Lease", "apiVersion": "coordination.k8s.io/v1", "metadata": meta(s, name, ns, extra), "spec": spec}
}

func conditions(s *src, types []string) []any {
	out := make([]any, 0, len(types))
	for _, t := range types {
		status := "False"
		if t == "Ready" {
			status = "True"
		}
		out = append(out, obj{"type": t, "status": status, "lastHeartbeatTime": s.ts(0),
			"lastTransitionTime": s.ts(-240 * time.Hour), "reason": "Kubelet" + t, "message": "kubelet has sufficient resources"})
	}
	return out
}

var nodeConditions = []string{"MemoryPressure", "DiskPressure", "PIDPressure", "Ready", "NetworkUnavailable"}

func images(s *src, n int) []any {
	out := make([]any, 0, n)
	for i := range n {
		name := fmt.Sprintf("registry.example.com/%s/%s", pick(s, namespaces), pick(s, appNames))
		out = append(out, obj{"names": []any{name + "@sha256:" + s.hex(64), fmt.Sprintf("%s:v1.%d.%d", name, i, s.intn(20))},
			"sizeBytes": 10000000 + s.intn(500000000)})
	}
	return out
}

func node(s *src, name string) obj {
	md := obj{
		"labels": obj{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
			"node.kubernetes.io/instance-type": "m5.xlarge", "topology.kubernetes.io/zone": "us-east-1" + pick(s, []string{"a", "b", "c"})},
		"annotations": obj{"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
	}
	spec := obj{"podCIDR": fmt.Sprintf("10.244.%d.0/24", s.intn(250)), "podCIDRs": []any{}, "providerID": "aws:///us-east-1a/i-0" + s.hex(16)}
	spec["podCIDRs"] = []any{spec["podCIDR"]}
	status := nodeStatus(s, name)
	md["managedFields"] = []any{
		managedFields(s, "kubelet", "v1", "", obj{"metadata": only(md, "labels", "annotations"), "spec": only(spec, "providerID")}),
		managedFields(s, "kube-controller-manager", "v1", "", obj{"spec": only(spec, "podCIDR", "podCIDRs")}),
		managedFields(s, "kubelet", "v1", "status", obj{"status": status}),
	}
	return obj{"kind": "Node", "apiVersion": "v1", "metadata": meta(s, name, "", md), "spec": spec, "status": status}
}

func nodeStatus(s *src, name string) obj {
	return obj{
		"capacity":        obj{"cpu": "4", "memory": "16079616Ki", "pods": "110", "ephemeral-storage": "104845292Ki"},
		"allocatable":     obj{"cpu": "3920m", "memory": "15062784Ki", "pods": "110", "ephemeral-storage": "95551679124"},
		"conditions":      conditions(s, nodeConditions),
		"addresses":       []any{obj{"type": "InternalIP", "address": fmt.Sprintf("10.0.%d.%d", s.intn(250), s.intn(250))}, obj{"type": "Hostname", "address": name}},
		"daemonEndpoints": obj{"kubeletEndpoint": obj{"Port": 10250}},
		"nodeInfo": obj{"machineID": s.hex(32), "systemUUID": s.uid(), "bootID": s.uid(), "kernelVersion": "6.1.109-118.189.amzn2023.x86_64",
			"osImage": "Amazon Linux 2023", "containerRuntimeVersion": "containerd://1.7.22", "kubeletVersion": "v1.31.2",
			"kubeProxyVersion": "v1.31.2", "operatingSystem": "linux", "architecture": "amd64"},
		"images": images(s, 25+s.intn(20)),
	}
}

func nodeStatusPatch(s *src) obj {
	p := obj{"status": obj{"$setElementOrder/conditions": []any{obj{"type": "MemoryPressure"}, obj{"type": "DiskPressure"}, obj{"type": "PIDPressure"}, obj{"type": "Ready"}},
		"conditions": conditions(s, nodeConditions[:4])}}
	if s.intn(4) == 0 {
		p["status"].(obj)["images"] = images(s, 20+s.intn(20))
	}
	return p
}

func container(s *src, app string, withEnv bool) obj {
	c := obj{
		"name": app, "image": fmt.Sprintf("registry.example.com/%s:v1.%d.%d", app, s.intn(30), s.intn(10)),
		"ports":                  []any{obj{"containerPort": 8080, "protocol": "TCP"}},
		"resources":              obj{"requests": obj{"cpu": "100m", "memory": "128Mi"}, "limits": obj{"memory": "512Mi"}},
		"terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "IfNotPresent",
	}
	if withEnv {
		c["env"] = []any{obj{"name": "LOG_LEVEL", "value": "info"}, obj{"name": "DB_HOST", "value": app + "-db." + pick(s, namespaces) + ".svc"},
			obj{"name": "DB_PASSWORD", "valueFrom": obj{"secretKeyRef": obj{"name": app + "-db", "key": "password"}}}}
	}
	return c
}

func pod(s *src, name, ns, app, nodeName string) obj {
	hash := s.hex(10)
	md := obj{
		"generateName":    strings.TrimSuffix(name, name[strings.LastIndexByte(name, '-')+1:]),
		"labels":          obj{"app": app, "pod-template-hash": hash},
		"ownerReferences": []any{obj{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": app + "-" + hash, "uid": s.uid(), "controller": true, "blockOwnerDeletion": true}},
	}
	spec := obj{"containers": []any{container(s, app, true)}, "serviceAccountName": app,
		"restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler", "enableServiceLinks": true,
		"terminationGracePeriodSeconds": 30, "securityContext": obj{}}
	status := podStatus(s, app)
	md["managedFields"] = []any{
		managedFields(s, "kube-controller-manager", "v1", "", obj{"metadata": only(md, "generateName", "labels", "ownerReferences"), "spec": spec}),
		managedFields(s, "kubelet", "v1", "status", obj{"status": status}),
	}
	// The service account admission plugin adds the token volume and its mount after the
	// fields were attributed to their manager, so managedFields never lists them.
	spec["volumes"] = []any{obj{"name": "kube-api-access", "projected": obj{"sources": []any{obj{"serviceAccountToken": obj{"expirationSeconds": 3607, "path": "token"}}}}}}
	spec["containers"].([]any)[0].(obj)["volumeMounts"] = []any{obj{"name": "kube-api-access", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}}
	if nodeName != "" {
		spec["nodeName"] = nodeName
	}
	return obj{"kind": "Pod", "apiVersion": "v1", "metadata": meta(s, name, ns, md), "spec": spec, "status": status}
}

func podStatus(s *src, app string) obj {
	ip := fmt.Sprintf("10.244.%d.%d", s.intn(250), s.intn(250))
	return obj{"phase": "Running", "podIP": ip, "podIPs": []any{obj{"ip": ip}}, "hostIP": fmt.Sprintf("10.0.%d.%d", s.intn(4), s.intn(250)), "startTime": s.ts(-time.Hour),
		"conditions": []any{obj{"type": "Initialized", "status": "True", "lastTransitionTime": s.ts(-time.Hour)},
			obj{"type": "Ready", "status": "True", "lastTransitionTime": s.ts(0)}, obj{"type": "ContainersReady", "status": "True", "lastTransitionTime": s.ts(0)},
			obj{"type": "PodScheduled", "status": "True", "lastTransitionTime": s.ts(-time.Hour)}},
		"containerStatuses": []any{obj{"name": app, "ready": true, "restartCount": s.intn(3), "started": true,
			"image": "registry.example.com/" + app + ":v1.2.3", "imageID": "registry.example.com/" + app + "@sha256:" + s.hex(64),
			"containerID": "containerd://" + s.hex(64), "state": obj{"running": obj{"startedAt": s.ts(-time.Hour)}}}}}
}

func event(s *src, ns, involvedKind, involvedName, reason, component string) obj {
	return obj{
		"kind": "Event", "apiVersion": "v1",
		"metadata":       meta(s, involvedName+"."+s.hex(16), ns, nil),
		"involvedObject": obj{"kind": involvedKind, "namespace": ns, "name": involvedName, "uid": s.uid(), "apiVersion": "v1", "resourceVersion": fmt.Sprint(s.intn(9999999))},
		"reason":         reason, "message": reason + ": " + involvedKind + " " + involvedName + " " + pick(s, []string{"pulled image", "started container", "scaled up replica set", "successfully assigned"}),
		"source": obj{"component": component}, "firstTimestamp": s.ts(0), "lastTimestamp": s.ts(0), "count": 1, "type": "Normal",
		"eventTime": nil, "reportingComponent": component, "reportingInstance": "",
	}
}

func secret(s *src, name, ns string, lastApplied bool) obj {
	data := obj{}
	for _, k := range pick(s, [][]string{{"password"}, {"username", "password"}, {"tls.crt", "tls.key"}, {"api-key", "webhook-secret", "token"}}) {
		data[k] = base64.StdEncoding.EncodeToString([]byte(s.secretValue(24 + s.intn(40))))
	}
	m := meta(s, name, ns, obj{"labels": obj{"app": strings.Split(name, "-")[0]}})
	sec := obj{"kind": "Secret", "apiVersion": "v1", "metadata": m, "type": "Opaque", "data": data}
	if lastApplied {
		m["annotations"] = obj{"kubectl.kubernetes.io/last-applied-configuration": lastAppliedOf(obj{"apiVersion": "v1", "kind": "Secret",
			"metadata": obj{"name": name, "namespace": ns}, "type": "Opaque", "data": data}) + "\n"}
	}
	return sec
}

func lastAppliedOf(o obj) string {
	b, _ := json.Marshal(o)
	return string(b)
}

func deployment(s *src, name, ns string, replicas int) obj {
	spec := obj{"replicas": replicas, "selector": obj{"matchLabels": obj{"app": name}},
		"template": obj{"metadata": obj{"labels": obj{"app": name}}, "spec": obj{"containers": []any{container(s, name, true)}, "serviceAccountName": name}}}
	md := obj{
		"labels":      obj{"app": name, "team": pick(s, []string{"payments", "web", "platform"})},
		"annotations": obj{"kubectl.kubernetes.io/last-applied-configuration": lastAppliedOf(obj{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": obj{"name": name, "namespace": ns}, "spec": spec}) + "\n"},
	}
	status := obj{"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas, "updatedReplicas": replicas, "observedGeneration": 1 + s.intn(40),
		"conditions": []any{
			obj{"type": "Available", "status": "True", "lastUpdateTime": s.ts(-time.Hour), "lastTransitionTime": s.ts(-time.Hour), "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
			obj{"type": "Progressing", "status": "True", "lastUpdateTime": s.ts(-time.Hour), "lastTransitionTime": s.ts(-48 * time.Hour), "reason": "NewReplicaSetAvailable", "message": fmt.Sprintf("ReplicaSet \"%s-%s\" has successfully progressed.", name, s.hex(10))},
		}}
	md["managedFields"] = []any{
		managedFields(s, "kubectl-client-side-apply", "apps/v1", "", obj{"metadata": only(md, "labels", "annotations"), "spec": spec}),
		managedFields(s, "kube-controller-manager", "apps/v1", "status", obj{"status": status}),
	}
	md["annotations"].(obj)["deployment.kubernetes.io/revision"] = fmt.Sprint(1 + s.intn(40))
	return obj{"kind": "Deployment", "apiVersion": "apps/v1", "metadata": meta(s, name, ns, md), "spec": spec, "status": status}
}

// service is a ClusterIP Service as kubectl apply creates it.
func service(s *src, name, ns string) obj {
	spec := obj{"selector": obj{"app": name}, "type": "ClusterIP", "sessionAffinity": "None",
		"ports": []any{obj{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}, obj{"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": 9090}}}
	md := obj{"labels": obj{"app": name}, "annotations": obj{"kubectl.kubernetes.io/last-applied-configuration": lastAppliedOf(obj{"apiVersion": "v1", "kind": "Service", "metadata": obj{"name": name, "namespace": ns}, "spec": spec}) + "\n"}}
	md["managedFields"] = []any{managedFields(s, "kubectl-client-side-apply", "v1", "", obj{"metadata": only(md, "labels", "annotations"), "spec": spec})}
	ip := fmt.Sprintf("10.96.%d.%d", s.intn(250), s.intn(250))
	spec["clusterIP"], spec["clusterIPs"], spec["ipFamilies"], spec["ipFamilyPolicy"], spec["internalTrafficPolicy"] = ip, []any{ip}, []any{"IPv4"}, "SingleStack", "Cluster"
	return obj{"kind": "Service", "apiVersion": "v1", "metadata": meta(s, name, ns, md), "spec": spec, "status": obj{"loadBalancer": obj{}}}
}

func configMap(s *src, name, ns string, lastApplied bool) obj {
	data := obj{"config.yaml": fmt.Sprintf("log_level: info\nlisten: :8080\nupstream: http://%s.%s.svc:8080\nretries: %d\n", pick(s, appNames), ns, s.intn(5))}
	m := meta(s, name, ns, obj{"managedFields": []any{managedFields(s, "kubectl", "v1", "", obj{"data": data})}})
	if lastApplied {
		m["annotations"] = obj{"kubectl.kubernetes.io/last-applied-configuration": lastAppliedOf(obj{"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj{"name": name, "namespace": ns}, "data": data}) + "\n"}
	}
	return obj{"kind": "ConfigMap", "apiVersion": "v1", "metadata": m, "data": data}
}

func endpointSlice(s *src, name, ns string) obj {
	eps := []any{}
	for range 1 + s.intn(6) {
		eps = append(eps, obj{"addresses": []any{fmt.Sprintf("10.244.%d.%d", s.intn(250), s.intn(250))}, "conditions": obj{"ready": true, "serving": true, "terminating": false},
			"nodeName": pick(s, nodes), "targetRef": obj{"kind": "Pod", "namespace": ns, "name": name + "-" + s.hex(5), "uid": s.uid()}})
	}
	return obj{"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1", "addressType": "IPv4",
		"metadata":  meta(s, name+"-"+s.alnum(5), ns, obj{"labels": obj{"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}}),
		"endpoints": eps, "ports": []any{obj{"name": "http", "port": 8080, "protocol": "TCP"}}}
}

func list(kind, apiVersion string, items []any) obj {
	return obj{"kind": kind, "apiVersion": apiVersion, "metadata": obj{"resourceVersion": "123456789"}, "items": items}
}

func status(code int, reason, message string) obj {
	st := "Failure"
	if code < 400 {
		st = "Success"
	}
	return obj{"kind": "Status", "apiVersion": "v1", "metadata": obj{}, "status": st, "message": message, "reason": reason, "code": code}
}
