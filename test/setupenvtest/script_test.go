//go:build envtest

package setupenvtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// script is hack/setup-envtest.sh, seen from this package.
const script = "../../hack/setup-envtest.sh"

// Versions the fake builds; any value keys a fresh cache folder.
const (
	k8sVersion  = "1.99.0"
	etcdVersion = "9.9.9"
)

// fakeGo is a `go` that answers `go env` with the real one and makes each
// download or build take stepSeconds; `go build -o OUT` writes a script to
// OUT, and `go mod download -json` points at a go.mod with one staging line.
const fakeGo = `#!/usr/bin/env bash
set -e
case "$1 $2" in
  "env "*) exec "$REAL_GO" "$@" ;;
  "mod init") exit 0 ;;
  "mod download")
    if [[ "$3" == -json ]]; then echo "{\"GoMod\": \"$FAKE_GOMOD\"}"; exit 0; fi
    sleep "$FAKE_GO_STEP"; exit 0 ;;
  "mod tidy"|"get "*) sleep "$FAKE_GO_STEP"; exit 0 ;;
  "build "*)
    sleep "$FAKE_GO_STEP"
    while [[ $# -gt 0 ]]; do if [[ "$1" == -o ]]; then out="$2"; fi; shift; done
    printf '#!/bin/sh\necho fake\n' > "$out"; chmod +x "$out"; exit 0 ;;
esac
echo "fake go: unexpected: $*" >&2; exit 2
`

// setup returns the environment the script runs in: a private cache and
// HOME (so no real cached assets are found) and the fake go first on PATH.
func setup(t *testing.T) (env []string, cache string) {
	t.Helper()
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("no flock on PATH (util-linux)")
	}
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go on PATH")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	gomod := filepath.Join(dir, "kubernetes.mod")
	if err := os.WriteFile(gomod, []byte("module k8s.io/kubernetes\nreplace k8s.io/api => ./staging/src/k8s.io/api\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cache = filepath.Join(dir, "cache")
	env = append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"REAL_GO="+realGo,
		"FAKE_GOMOD="+gomod,
		"FAKE_GO_STEP=2",
		"HOME="+filepath.Join(dir, "home"),
		"BKPLUGIN_CACHE_DIR="+cache,
		"KUBEBUILDER_ASSETS=",
		"ENVTEST_K8S_VERSION="+k8sVersion,
		"ENVTEST_ETCD_VERSION="+etcdVersion,
		"ENVTEST_USE_SYSTEM_ETCD=",
		"SETUP_ENVTEST_PROGRESS_INTERVAL=1",
	)
	return env, cache
}

// assetsDir is where the script keeps the assets of this test's versions.
func assetsDir(cache string) string {
	return filepath.Join(cache, "envtest",
		fmt.Sprintf("k8s-%s-etcd-%s-%s-%s", k8sVersion, etcdVersion, runtime.GOOS, runtime.GOARCH))
}

// run starts the script and returns a func that waits for it and returns
// its stdout and stderr.
func run(t *testing.T, env []string) func() (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	return func() (string, string) {
		defer cancel()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("setup-envtest.sh: %v\nstderr:\n%s", err, stderr.String())
		}
		return stdout.String(), stderr.String()
	}
}

// wantLines fails unless each pattern matches a line of stderr.
func wantLines(t *testing.T, stderr string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(`(?m)` + p).MatchString(stderr) {
			t.Errorf("no line of the script's stderr matches %q; stderr:\n%s", p, stderr)
		}
	}
}

// TestBuildReportsEachStep builds into an empty cache and checks that
// every long step is announced, reported while it runs, and timed.
func TestBuildReportsEachStep(t *testing.T) {
	env, cache := setup(t)
	stdout, stderr := run(t, env)()
	if got := strings.TrimSpace(stdout); got != assetsDir(cache) {
		t.Errorf("stdout %q, want the assets directory %s", got, assetsDir(cache))
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kubectl"} {
		if _, err := os.Stat(filepath.Join(assetsDir(cache), b)); err != nil {
			t.Errorf("no %s in the assets: %v", b, err)
		}
	}
	wantLines(t, stderr,
		`^setup-envtest: etcd: compiling \.\.\.$`,
		`^setup-envtest: etcd: compiling: still running, [0-9]+s so far$`,
		`^setup-envtest: etcd: compiling: done in [0-9]+s$`,
		`^setup-envtest: kube: compiling kube-apiserver: still running, [0-9]+s so far$`,
		`^setup-envtest: kube: downloading modules \(go mod tidy\): done in [0-9]+s$`,
		`^setup-envtest: built in [0-9]+s into `,
	)
	if _, err := os.Stat(filepath.Join(cache, "envtest", ".lock.owner")); !os.IsNotExist(err) {
		t.Errorf("the lock's owner file outlived the build: %v", err)
	}
}

// TestWaitingOnTheLockReportsWhoAndHowLong holds the script's lock, as
// another clone's build would, and checks that the script says whom it
// waits for and for how long, then uses what the holder built.
func TestWaitingOnTheLockReportsWhoAndHowLong(t *testing.T) {
	env, cache := setup(t)
	dir := filepath.Join(cache, "envtest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".lock.owner"), []byte("pid 4242 (the test's holder)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wait := run(t, env)
	time.Sleep(3500 * time.Millisecond)
	// What the holder built, then the lock's release.
	assets := assetsDir(cache)
	if err := os.MkdirAll(assets, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kubectl"} {
		if err := os.WriteFile(filepath.Join(assets, b), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	stdout, stderr := wait()
	if got := strings.TrimSpace(stdout); got != assets {
		t.Errorf("stdout %q, want the holder's assets %s", got, assets)
	}
	wantLines(t, stderr,
		`^setup-envtest: waiting for pid 4242 \(the test's holder\) to finish building the envtest binaries`,
		`^setup-envtest: still waiting for the envtest lock, [1-9][0-9]*s so far \(held by pid 4242`,
		`^setup-envtest: got the envtest lock after [0-9]+s$`,
		`^setup-envtest: using assets built meanwhile in `,
	)
	if strings.Contains(stderr, "building etcd") {
		t.Errorf("the script built though the holder had:\n%s", stderr)
	}
}
