package toolcache

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

// TestModuleDirBuild builds a wrapper-module tool (etcd, the quickest) into an empty
// cache: the build runs in the repository's wrapper module, lands at Path, and the
// binary is the pinned release.
func TestModuleDirBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds etcd")
	}
	// An empty tool cache, but the go tool keeps its own build and module caches (they
	// default to places under the user cache dir).
	env, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	dirs := strings.Fields(string(env))
	t.Setenv("GOCACHE", dirs[0])
	t.Setenv("GOMODCACHE", dirs[1])
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	var progress strings.Builder
	bin, err := Etcd.Install(context.Background(), &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if want, _ := Etcd.Path(); bin != want || !isExecutable(bin) {
		t.Fatalf("installed %s, want an executable at %s", bin, want)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), strings.TrimPrefix(Etcd.Version, "v")) {
		t.Fatalf("%s --version: %v\n%s", bin, err, out)
	}
}
