package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// kustomizeModule renders when neither $AUDITSHIP_KUSTOMIZE nor kubectl nor kustomize is
// on the machine: a fresh CI machine has only Go and its module proxy.
const kustomizeModule = "sigs.k8s.io/kustomize/kustomize/v5@v5.8.1"

// kustomizeCmd picks a renderer: $AUDITSHIP_KUSTOMIZE (a command line, the directory is
// appended), kubectl kustomize, kustomize build, or the pinned module through go run.
func kustomizeCmd(dir string) *exec.Cmd {
	if k := strings.Fields(os.Getenv("AUDITSHIP_KUSTOMIZE")); len(k) > 0 {
		return exec.Command(k[0], append(k[1:], dir)...)
	}
	if p, err := exec.LookPath("kubectl"); err == nil {
		return exec.Command(p, "kustomize", dir)
	}
	if p, err := exec.LookPath("kustomize"); err == nil {
		return exec.Command(p, "build", dir)
	}
	return exec.Command("go", "run", kustomizeModule, "build", dir)
}

// render builds a kustomization and parses every object it emits.
func render(t *testing.T, dir string) *bundle {
	t.Helper()
	cmd := kustomizeCmd(dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("render %s with %v: %v\n%s", dir, cmd.Args, err, stderr.String())
	}
	b, err := parseBundle(out)
	if err != nil {
		t.Fatalf("render %s: %v", dir, err)
	}
	return b
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

type objectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type header struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
}

// The subset of the Kubernetes API the checks read; unknown fields are ignored.
type (
	podSpec struct {
		ServiceAccountName            string              `json:"serviceAccountName,omitempty"`
		AutomountServiceAccountToken  *bool               `json:"automountServiceAccountToken,omitempty"`
		PriorityClassName             string              `json:"priorityClassName,omitempty"`
		TerminationGracePeriodSeconds *int64              `json:"terminationGracePeriodSeconds,omitempty"`
		HostNetwork                   bool                `json:"hostNetwork,omitempty"`
		NodeSelector                  map[string]string   `json:"nodeSelector,omitempty"`
		Affinity                      *affinity           `json:"affinity,omitempty"`
		Tolerations                   []toleration        `json:"tolerations,omitempty"`
		SecurityContext               *podSecurityContext `json:"securityContext,omitempty"`
		InitContainers                []container         `json:"initContainers,omitempty"`
		Containers                    []container         `json:"containers,omitempty"`
		Volumes                       []volume            `json:"volumes,omitempty"`
	}
	affinity struct {
		NodeAffinity *struct {
			Required *struct {
				Terms []struct {
					MatchExpressions []struct {
						Key      string   `json:"key"`
						Operator string   `json:"operator"`
						Values   []string `json:"values,omitempty"`
					} `json:"matchExpressions,omitempty"`
				} `json:"nodeSelectorTerms"`
			} `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
		} `json:"nodeAffinity,omitempty"`
	}
	toleration struct {
		Key      string `json:"key,omitempty"`
		Operator string `json:"operator,omitempty"`
		Effect   string `json:"effect,omitempty"`
	}
	seccomp struct {
		Type string `json:"type"`
	}
	podSecurityContext struct {
		RunAsUser      *int64   `json:"runAsUser,omitempty"`
		RunAsNonRoot   *bool    `json:"runAsNonRoot,omitempty"`
		SeccompProfile *seccomp `json:"seccompProfile,omitempty"`
	}
	securityContext struct {
		RunAsUser                *int64   `json:"runAsUser,omitempty"`
		ReadOnlyRootFilesystem   *bool    `json:"readOnlyRootFilesystem,omitempty"`
		AllowPrivilegeEscalation *bool    `json:"allowPrivilegeEscalation,omitempty"`
		Privileged               *bool    `json:"privileged,omitempty"`
		SeccompProfile           *seccomp `json:"seccompProfile,omitempty"`
		Capabilities             *struct {
			Add  []string `json:"add,omitempty"`
			Drop []string `json:"drop,omitempty"`
		} `json:"capabilities,omitempty"`
	}
	probe struct {
		HTTPGet *struct {
			Path string `json:"path"`
			Port any    `json:"port"`
		} `json:"httpGet,omitempty"`
		Exec *struct {
			Command []string `json:"command"`
		} `json:"exec,omitempty"`
	}
	envVar struct {
		Name      string `json:"name"`
		Value     string `json:"value,omitempty"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `json:"fieldPath"`
			} `json:"fieldRef,omitempty"`
		} `json:"valueFrom,omitempty"`
	}
	volumeMount struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
		SubPath   string `json:"subPath,omitempty"`
		ReadOnly  bool   `json:"readOnly,omitempty"`
	}
	container struct {
		Name          string   `json:"name"`
		Image         string   `json:"image"`
		RestartPolicy string   `json:"restartPolicy,omitempty"`
		Args          []string `json:"args,omitempty"`
		Env           []envVar `json:"env,omitempty"`
		Ports         []struct {
			Name          string `json:"name,omitempty"`
			ContainerPort int    `json:"containerPort"`
		} `json:"ports,omitempty"`
		LivenessProbe  *probe `json:"livenessProbe,omitempty"`
		ReadinessProbe *probe `json:"readinessProbe,omitempty"`
		Resources      struct {
			Requests map[string]string `json:"requests,omitempty"`
			Limits   map[string]string `json:"limits,omitempty"`
		} `json:"resources"`
		SecurityContext *securityContext `json:"securityContext,omitempty"`
		VolumeMounts    []volumeMount    `json:"volumeMounts,omitempty"`
	}
	volume struct {
		Name     string `json:"name"`
		HostPath *struct {
			Path string `json:"path"`
			Type string `json:"type,omitempty"`
		} `json:"hostPath,omitempty"`
		ConfigMap *struct {
			Name string `json:"name"`
		} `json:"configMap,omitempty"`
		Secret *struct {
			SecretName string `json:"secretName"`
		} `json:"secret,omitempty"`
		EmptyDir *struct {
			SizeLimit string `json:"sizeLimit,omitempty"`
		} `json:"emptyDir,omitempty"`
	}
	service struct {
		Metadata objectMeta `json:"metadata"`
		Spec     struct {
			Selector map[string]string `json:"selector"`
			Ports    []struct {
				Port       int `json:"port"`
				TargetPort any `json:"targetPort"`
			} `json:"ports"`
		} `json:"spec"`
	}
)

// bundle is one rendering: the workload (DaemonSet or Deployment) plus what it refers to.
type bundle struct {
	Objects         []header
	WorkloadKind    string
	PodMeta         objectMeta
	Pod             podSpec
	ConfigMaps      map[string]map[string]string
	ServiceAccounts map[string]*bool // name -> automountServiceAccountToken
	PriorityClasses map[string]bool
	Services        []service
}

func parseBundle(out []byte) (*bundle, error) {
	b := &bundle{
		ConfigMaps:      map[string]map[string]string{},
		ServiceAccounts: map[string]*bool{},
		PriorityClasses: map[string]bool{},
	}
	workloads := 0
	for _, doc := range docSep.Split(string(out), -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var h header
		if err := yaml.Unmarshal([]byte(doc), &h); err != nil {
			return nil, fmt.Errorf("parse object: %w", err)
		}
		b.Objects = append(b.Objects, h)
		var err error
		switch h.Kind {
		case "DaemonSet", "Deployment":
			workloads++
			var w struct {
				Spec struct {
					Template struct {
						Metadata objectMeta `json:"metadata"`
						Spec     podSpec    `json:"spec"`
					} `json:"template"`
				} `json:"spec"`
			}
			err = yaml.Unmarshal([]byte(doc), &w)
			b.WorkloadKind, b.PodMeta, b.Pod = h.Kind, w.Spec.Template.Metadata, w.Spec.Template.Spec
		case "ConfigMap":
			var cm struct {
				Data map[string]string `json:"data"`
			}
			err = yaml.Unmarshal([]byte(doc), &cm)
			b.ConfigMaps[h.Metadata.Name] = cm.Data
		case "ServiceAccount":
			var sa struct {
				Automount *bool `json:"automountServiceAccountToken"`
			}
			err = yaml.Unmarshal([]byte(doc), &sa)
			b.ServiceAccounts[h.Metadata.Name] = sa.Automount
		case "PriorityClass":
			b.PriorityClasses[h.Metadata.Name] = true
		case "Service":
			var s service
			err = yaml.Unmarshal([]byte(doc), &s)
			b.Services = append(b.Services, s)
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s %s: %w", h.Kind, h.Metadata.Name, err)
		}
	}
	if workloads != 1 {
		return nil, fmt.Errorf("want exactly one DaemonSet or Deployment, got %d", workloads)
	}
	return b, nil
}

// clone deep-copies b, so that a test can break one property of a good rendering.
func (b *bundle) clone(t *testing.T) *bundle {
	t.Helper()
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var c bundle
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}
