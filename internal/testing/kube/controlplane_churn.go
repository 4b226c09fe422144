package kube

import (
	"context"
	"fmt"
	"net/url"
)

const kubectlAgent = "kubectl/v1.37.2 (darwin/arm64) kubernetes/1e2f3a4"

var reportApp = app{"payments", "report", "report", 1, "registry.example/payments/report:1.0.4"}

// cronJobRun is run k of the payments/report CronJob: the cronjob controller creates the
// Job, the job controller its pod, which runs to completion; the oldest finished Job
// beyond the history limit of 3 is deleted, its pod by the garbage collector.
func (p *ControlPlane) cronJobRun(k int) job {
	return func(ctx context.Context) error {
		cron, jobc := saUser("kube-system", "cronjob-controller"), saUser("kube-system", "job-controller")
		const jobs, cronPath = "/apis/batch/v1/namespaces/payments/jobs", "/apis/batch/v1/namespaces/payments/cronjobs/report"
		name := fmt.Sprintf("report-%d", 29400000+k*5)
		cjUID, _ := dig(p.object(cronPath), "metadata", "uid").(string)
		m := meta(name, "payments", map[string]any{"batch.kubernetes.io/job-name": name})
		m["ownerReferences"] = ownerRef("batch/v1", "CronJob", "report", cjUID)
		template := dig(p.object(cronPath), "spec", "jobTemplate", "spec")
		out, err := p.call(ctx, cron, request{method: "POST", path: jobs, agent: controllerAgent(cron), want: []int{201},
			body: obj("batch/v1", "Job", m, map[string]any{"spec": template})})
		if err != nil {
			return err
		}
		p.keep(jobs+"/"+name, out)
		jobUID, _ := dig(out, "metadata", "uid").(string)
		if err := p.event(ctx, cron, "payments", "CronJob", "report", cjUID, "SuccessfulCreate", "Created job "+name); err != nil {
			return err
		}
		t := now()[:19] + "Z"
		if err := p.update(ctx, cron, cronPath, cronPath+"/status", func(o map[string]any) {
			o["status"] = map[string]any{"active": []any{map[string]any{"apiVersion": "batch/v1", "kind": "Job", "name": name, "namespace": "payments", "uid": jobUID}}, "lastScheduleTime": t}
		}); err != nil {
			return err
		}
		pod := podObject(reportApp, name+"-"+hashOf(name, 5), name, jobUID, "")
		pod["metadata"].(map[string]any)["ownerReferences"] = ownerRef("batch/v1", "Job", name, jobUID)
		node := p.nodes[1+k%(len(p.nodes)-1)]
		sp, err := p.startPod(ctx, jobc, reportApp, pod, node)
		if err != nil {
			return err
		}
		if err := p.update(ctx, jobc, jobs+"/"+name, jobs+"/"+name+"/status", func(o map[string]any) {
			o["status"] = map[string]any{"active": 1, "ready": 1, "startTime": t, "uncountedTerminatedPods": map[string]any{}}
		}); err != nil {
			return err
		}
		if _, err := p.call(ctx, nodeUser(node), request{method: "PATCH", path: "/api/v1/namespaces/payments/pods/" + sp.name + "/status", agent: kubeletAgent,
			contentType: strategicPatch, body: laterStatusPatch(sp, reportApp.image, "Succeeded", false), want: []int{200}}); err != nil {
			return err
		}
		if err := p.update(ctx, jobc, jobs+"/"+name, jobs+"/"+name+"/status", func(o map[string]any) {
			o["status"] = map[string]any{"active": 0, "ready": 0, "succeeded": 1, "startTime": t, "uncountedTerminatedPods": map[string]any{}}
		}); err != nil {
			return err
		}
		if err := p.event(ctx, jobc, "payments", "Job", name, jobUID, "Completed", "Job completed"); err != nil {
			return err
		}
		if err := p.update(ctx, cron, cronPath, cronPath+"/status", func(o map[string]any) {
			o["status"] = map[string]any{"lastScheduleTime": t, "lastSuccessfulTime": now()[:19] + "Z"}
		}); err != nil {
			return err
		}
		p.keep(fmt.Sprintf("cron/%d", k), map[string]any{"job": name, "pod": sp.name, "uid": sp.uid})
		if old := p.object(fmt.Sprintf("cron/%d", k-3)); old != nil {
			return p.deleteJob(ctx, old)
		}
		return nil
	}
}

// deleteJob is the cronjob controller deleting a finished Job beyond the history limit
// and the garbage collector deleting its pod.
func (p *ControlPlane) deleteJob(ctx context.Context, old map[string]any) error {
	cron, gc := saUser("kube-system", "cronjob-controller"), saUser("kube-system", "generic-garbage-collector")
	name, _ := old["job"].(string)
	if _, err := p.call(ctx, cron, request{method: "DELETE", path: "/apis/batch/v1/namespaces/payments/jobs/" + name + "?propagationPolicy=Background",
		agent: controllerAgent(cron), want: []int{200}}); err != nil {
		return err
	}
	if err := p.event(ctx, cron, "payments", "CronJob", "report", "", "SuccessfulDelete", "Deleted job "+name); err != nil {
		return err
	}
	pod, _ := old["pod"].(string)
	_, err := p.call(ctx, gc, request{method: "DELETE", path: "/api/v1/namespaces/payments/pods/" + pod, agent: controllerAgent(gc), want: []int{200},
		body: map[string]any{"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background", "preconditions": map[string]any{"uid": old["uid"]}}})
	return err
}

// event is a controller's event recorder writing a core/v1 Event.
func (p *ControlPlane) event(ctx context.Context, user, ns, kind, name, uid, reason, message string) error {
	component := user[len("system:serviceaccount:kube-system:"):]
	_, err := p.call(ctx, user, request{method: "POST", path: "/api/v1/namespaces/" + ns + "/events", agent: controllerAgent(user), want: []int{201},
		body: coreEvent(ns, kind, name, uid, reason, message, component, "")})
	return err
}

// rollout is a CI pipeline changing a Deployment's image, and what follows: the
// deployment controller's new ReplicaSet, the replicaset controller replacing each pod
// (scheduler, kubelets), the EndpointSlice updated, the statuses.
func (p *ControlPlane) rollout(t int) job {
	return func(ctx context.Context) error {
		a := apps[9] // web/frontend
		if t > p.opts.Minutes*3 {
			a = apps[6] // payments/checkout
		}
		a.image = fmt.Sprintf("%s-%d", a.image, t)
		dc, rc := saUser("kube-system", "deployment-controller"), saUser("kube-system", "replicaset-controller")
		depPath := "/apis/apps/v1/namespaces/" + a.ns + "/deployments/" + a.name
		out, err := p.call(ctx, saUser("ci", "deployer"), request{method: "PATCH", path: depPath + "?fieldManager=kubectl-set", contentType: strategicPatch, agent: kubectlAgent, want: []int{200},
			body: map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": a.name, "image": a.image}}}}}}})
		if err != nil {
			return err
		}
		p.keep(depPath, out)
		depUID, _ := dig(out, "metadata", "uid").(string)
		rsName := a.name + "-" + hashOf(a.image, 10)
		labels := map[string]any{"app.kubernetes.io/name": a.name}
		rsMeta := meta(rsName, a.ns, labels)
		rsMeta["ownerReferences"] = ownerRef("apps/v1", "Deployment", a.name, depUID)
		rsPath := "/apis/apps/v1/namespaces/" + a.ns + "/replicasets"
		rs, err := p.call(ctx, dc, request{method: "POST", path: rsPath, agent: controllerAgent(dc), want: []int{201}, body: obj("apps/v1", "ReplicaSet", rsMeta,
			map[string]any{"spec": map[string]any{"replicas": a.replicas, "selector": map[string]any{"matchLabels": labels}, "template": dig(out, "spec", "template")}})})
		if err != nil {
			return err
		}
		p.keep(rsPath+"/"+rsName, rs)
		rsUID, _ := dig(rs, "metadata", "uid").(string)
		if err := p.event(ctx, dc, a.ns, "Deployment", a.name, depUID, "ScalingReplicaSet", fmt.Sprintf("Scaled up replica set %s from 0 to %d", rsName, a.replicas)); err != nil {
			return err
		}
		var old, kept []*simPod
		p.mu.Lock()
		for _, sp := range p.pods {
			if sp.ns == a.ns && sp.app == a.name {
				old = append(old, sp)
			} else {
				kept = append(kept, sp)
			}
		}
		p.mu.Unlock()
		var endpoints []any
		for i, o := range old {
			sp, err := p.startPod(ctx, rc, a, podObject(a, rsName+"-"+hashOf(fmt.Sprint(rsName, i), 5), rsName, rsUID, ""), o.node)
			if err != nil {
				return err
			}
			sp.secret, sp.configMap = o.secret, o.configMap
			kept = append(kept, sp)
			endpoints = append(endpoints, endpoint(sp, i+100))
			if err := p.stopPod(ctx, rc, o); err != nil {
				return err
			}
		}
		p.mu.Lock()
		p.pods = kept
		p.mu.Unlock()
		return p.rolloutStatus(ctx, a, rsName, endpoints)
	}
}

// rolloutStatus is the end of a rollout: the EndpointSlice lists the new pods, the old
// ReplicaSet is scaled to 0, the statuses say so.
func (p *ControlPlane) rolloutStatus(ctx context.Context, a app, rsName string, endpoints []any) error {
	dc, rc, esc := saUser("kube-system", "deployment-controller"), saUser("kube-system", "replicaset-controller"), saUser("kube-system", "endpointslice-controller")
	esKey := "endpointslice/" + a.ns + "/" + a.name
	esName, _ := dig(p.object(esKey), "metadata", "name").(string)
	if err := p.update(ctx, esc, esKey, "/apis/discovery.k8s.io/v1/namespaces/"+a.ns+"/endpointslices/"+esName, func(o map[string]any) { o["endpoints"] = endpoints }); err != nil {
		return err
	}
	rsPath := "/apis/apps/v1/namespaces/" + a.ns + "/replicasets/"
	if err := p.update(ctx, rc, rsPath+rsName, rsPath+rsName+"/status", func(o map[string]any) {
		o["status"] = map[string]any{"replicas": a.replicas, "readyReplicas": a.replicas, "availableReplicas": a.replicas, "fullyLabeledReplicas": a.replicas, "observedGeneration": 1}
	}); err != nil {
		return err
	}
	depPath := "/apis/apps/v1/namespaces/" + a.ns + "/deployments/" + a.name
	return p.update(ctx, dc, depPath, depPath+"/status", func(o map[string]any) {
		gen, _ := dig(o, "metadata", "generation").(float64)
		o["status"] = map[string]any{"observedGeneration": gen, "replicas": a.replicas, "updatedReplicas": a.replicas, "readyReplicas": a.replicas, "availableReplicas": a.replicas,
			"conditions": []any{map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.",
				"lastUpdateTime": now()[:19] + "Z", "lastTransitionTime": now()[:19] + "Z"}}}
	})
}

// stopPod is a controller deleting a pod and its kubelet finishing the deletion.
func (p *ControlPlane) stopPod(ctx context.Context, rc string, sp *simPod) error {
	path := "/api/v1/namespaces/" + sp.ns + "/pods/" + sp.name
	if _, err := p.call(ctx, rc, request{method: "DELETE", path: path, agent: controllerAgent(rc), want: []int{200}}); err != nil {
		return err
	}
	if err := p.event(ctx, rc, sp.ns, "ReplicaSet", sp.name[:len(sp.name)-6], "", "SuccessfulDelete", "Deleted pod: "+sp.name); err != nil {
		return err
	}
	k := nodeUser(sp.node)
	stopping := laterStatusPatch(sp, "registry.example/app:old", "Running", false)
	if _, err := p.call(ctx, k, request{method: "PATCH", path: path + "/status", contentType: strategicPatch, agent: kubeletAgent, want: []int{200},
		body: stopping}); err != nil {
		return err
	}
	_, err := p.call(ctx, k, request{method: "DELETE", path: path, agent: kubeletAgent, want: []int{200},
		body: map[string]any{"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0, "preconditions": map[string]any{"uid": sp.uid}}})
	return err
}

// session is a person's kubectl session: listing and describing, and what only they do:
// Alice reads a Secret, edits a ConfigMap and is refused another team's Secrets; Bob
// lists every pod and node, reads Secrets and scales a Deployment.
func (p *ControlPlane) session(user, ns string) job {
	return func(ctx context.Context) error {
		var pod string
		p.mu.Lock()
		for _, sp := range p.pods {
			if sp.ns == ns {
				pod = sp.name
				break
			}
		}
		p.mu.Unlock()
		base := "/api/v1/namespaces/" + ns
		reqs := []request{
			{method: "GET", path: base + "/pods?limit=500", accept: tableAccept, want: []int{200}},
			{method: "GET", path: "/apis/apps/v1/namespaces/" + ns + "/deployments?limit=500", accept: tableAccept, want: []int{200}},
			{method: "GET", path: base + "/pods/" + pod, want: []int{200}},
			{method: "GET", path: base + "/events?" + url.Values{"fieldSelector": {"involvedObject.name=" + pod + ",involvedObject.namespace=" + ns}}.Encode(), want: []int{200}},
		}
		if user == alice {
			reqs = append(reqs,
				request{method: "GET", path: base + "/secrets/checkout-credentials", want: []int{200}},
				request{method: "PATCH", path: base + "/configmaps/checkout-config", contentType: mergePatch, want: []int{200},
					body: map[string]any{"data": map[string]any{"config.yaml": "log_level: debug\nlisten: :8080\nmetrics: :9090\n"}}},
				request{method: "GET", path: "/api/v1/namespaces/web/secrets?limit=500", want: []int{403}})
		} else {
			reqs = append(reqs,
				request{method: "GET", path: "/api/v1/nodes?limit=500", accept: tableAccept, want: []int{200}},
				request{method: "GET", path: "/api/v1/pods?limit=500", accept: tableAccept, want: []int{200}},
				request{method: "GET", path: base + "/secrets?limit=500", want: []int{200}},
				request{method: "PATCH", path: "/apis/apps/v1/namespaces/" + ns + "/deployments/api/scale", contentType: mergePatch, want: []int{200},
					body: map[string]any{"spec": map[string]any{"replicas": 4}}})
		}
		for _, r := range reqs {
			r.agent = kubectlAgent
			if _, err := p.call(ctx, user, r); err != nil {
				return err
			}
		}
		return nil
	}
}
