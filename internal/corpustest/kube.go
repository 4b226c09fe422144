package corpustest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/auditship/auditship/internal/testing/kube"
)

// KubeAPIServerDir returns testdata/kube-apiserver joined with elems: what a real
// kube-apiserver v1.37.2 wrote for internal/testing/kube's traffic, recorded by
// internal/testing/kube/cmd/record-corpus (its doc comment lists the files). Unlike the
// shared corpus it is part of the repository, so a missing file fails t.
func KubeAPIServerDir(t testing.TB, elems ...string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(append([]string{filepath.Dir(file), "..", "..", "testdata", "kube-apiserver"}, elems...)...)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("recorded kube-apiserver corpus: %v", err)
	}
	return dir
}

// KubeAuditLines returns every line the API server wrote to --audit-log-path, in order:
// the gzipped backups oldest first, then the live file.
func KubeAuditLines(t testing.TB) [][]byte {
	t.Helper()
	dir := KubeAPIServerDir(t)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, "audit-") {
			files = append(files, filepath.Join(dir, n))
		}
	}
	sort.Strings(files)
	lines, err := kube.ReadLines(append(files, filepath.Join(dir, "audit.log")))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) == 0 {
		t.Fatal("recorded kube-apiserver corpus: no audit lines")
	}
	return lines
}

// KubeFileLines returns the non-empty lines of a file of the recorded corpus.
func KubeFileLines(t testing.TB, elems ...string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(KubeAPIServerDir(t, elems...))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(l) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// KubeSecrets returns every secret value the recorded traffic planted or received, each
// with the strings that reveal it (plain, base64 alphabets, a JWT's signature).
func KubeSecrets(t testing.TB) map[string]string {
	t.Helper()
	return kubeSecrets(t, "secrets.json")
}

func kubeSecrets(t testing.TB, elems ...string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(KubeAPIServerDir(t, elems...))
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	if err := json.Unmarshal(b, &secrets); err != nil || len(secrets) == 0 {
		t.Fatalf("secrets.json: %d secrets, %v", len(secrets), err)
	}
	return kube.LeakForms(secrets)
}

// KubeControlPlaneLog returns the path of the realistic recording: what a real
// kube-apiserver v1.37.2 wrote (RequestResponse, every stage, gzipped) for 30 minutes of
// internal/testing/kube's ControlPlane traffic — kubelets, kube-controller-manager and
// its controllers, kube-scheduler, kube-proxy, CoreDNS, add-ons, people and CI, with one
// round of the security traffic — recorded by
// `go run ./internal/testing/kube/cmd/record-corpus -controlplane -minutes 30`.
func KubeControlPlaneLog(t testing.TB) string {
	t.Helper()
	return KubeAPIServerDir(t, "controlplane", "audit.log.gz")
}

// KubeControlPlaneSecrets returns every secret value the realistic recording's traffic
// planted or received (the pods' projected tokens included), each with the strings that
// reveal it, as KubeSecrets does for the security recording.
func KubeControlPlaneSecrets(t testing.TB) map[string]string {
	t.Helper()
	return kubeSecrets(t, "controlplane", "secrets.json")
}

// KubeControlPlaneLines returns the lines of KubeControlPlaneLog, in order.
func KubeControlPlaneLines(t testing.TB) [][]byte {
	t.Helper()
	lines, err := kube.ReadLines([]string{KubeControlPlaneLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) == 0 {
		t.Fatal("realistic kube-apiserver recording: no audit lines")
	}
	return lines
}
