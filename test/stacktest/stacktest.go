// Package stacktest runs the local stack (hack/localstack, through
// internal/stackrun) for a test, from binaries built from this checkout:
// the CLI's, the panel's and localstack's own tests share it.
package stacktest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/stackrun"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
)

// StackPackages are the binaries the local stack runs, and localstack
// itself, relative to the repository root.
func StackPackages() []string {
	return []string{"cmd/manager", "cmd/apiserver", "sdk/examples/hello", "sdk/examples/poller",
		"sdk/examples/callbacker", "sdk/examples/deployer", "sdk/examples/formapi", "sdk/examples/notifier", "sdk/examples/shipper",
		"hack/localstack"}
}

// Root is the repository root: the nearest folder above the test's own
// (where go test runs it) that holds go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// Build builds pkgs (relative to the repository root) into a temporary
// folder, so that no test runs stale binaries from bin/, and returns it.
func Build(t testing.TB, pkgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	args := []string{"build", "-o", dir + "/"}
	for _, p := range pkgs {
		args = append(args, "./"+p)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = Root(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return dir
}

// FreePort returns a loopback port nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs localstack from binDir (built with StackPackages) with the
// shim on a free port and each of shimArgs added to the shim's arguments,
// as `make run-local` does, in testenv.SyncInvokeMode(); it returns the stack once it has printed READY
// and stops it when the test ends.
func Start(t testing.TB, binDir string, shimArgs ...string) *stackrun.Stack {
	t.Helper()
	args := []string{"--bin-dir", binDir, "--crd-dir", filepath.Join(Root(t), "config", "crd", "bases"),
		// Every suite on the local stack runs in the --sync-invoke mode
		// testenv.SyncInvokeEnv names (make test runs both).
		"--shim-arg", "--sync-invoke=" + testenv.SyncInvokeMode()}
	for _, a := range shimArgs {
		args = append(args, "--shim-arg", a)
	}
	stack, err := stackrun.Start(context.Background(), stackrun.Options{
		Binary:      filepath.Join(binDir, "localstack"),
		Args:        args,
		Env:         append(os.Environ(), fmt.Sprintf("SHIM_ADDR=127.0.0.1:%d", FreePort(t))),
		StopTimeout: 45 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stack.Stop(); err != nil {
			t.Error(err)
		}
	})
	return stack
}
