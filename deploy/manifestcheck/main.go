// Command manifestcheck decodes rendered Kubernetes manifests strictly with the API
// types (unknown or duplicate fields are errors), as `kubectl apply --validate=strict`
// would: it keeps the Helm chart and kustomize bases honest without a cluster. It is a
// module of its own so the product never depends on Kubernetes libraries.
//
// Usage: manifestcheck FILE... (multi-document YAML); exit 1 listing every problem.
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// external kinds whose types are not Kubernetes' own and are not linked here; they are
// checked for apiVersion/kind/metadata only.
var external = map[string]bool{
	"cert-manager.io/v1/Issuer":      true,
	"cert-manager.io/v1/Certificate": true,
}

func main() {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, schedulingv1.AddToScheme,
		admissionregistrationv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	strict := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	var problems []string
	objects := 0
	for _, f := range os.Args[1:] {
		data, err := os.ReadFile(f)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		r := utilyaml.NewYAMLReader(bufioReader(data))
		for i := 0; ; i++ {
			doc, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: document %d: %v", f, i, err))
				break
			}
			if len(bytes.TrimSpace(doc)) == 0 || isComments(doc) {
				continue
			}
			var h struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := sigsyaml.Unmarshal(doc, &h); err != nil {
				problems = append(problems, fmt.Sprintf("%s: document %d: %v", f, i, err))
				continue
			}
			objects++
			id := fmt.Sprintf("%s: %s/%s %s", f, h.APIVersion, h.Kind, h.Metadata.Name)
			if external[h.APIVersion+"/"+h.Kind] {
				if h.Metadata.Name == "" {
					problems = append(problems, id+": no metadata.name")
				}
				continue
			}
			if _, _, err := strict.Decode(doc, nil, nil); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", id, err))
			}
		}
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	fmt.Fprintf(os.Stderr, "manifestcheck: %d objects, %d problems\n", objects, len(problems))
	if len(problems) > 0 || objects == 0 {
		os.Exit(1)
	}
}

func isComments(doc []byte) bool {
	for _, l := range bytes.Split(doc, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' {
			return false
		}
	}
	return true
}
