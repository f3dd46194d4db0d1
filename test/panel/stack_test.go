//go:build envtest

package panel

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/stackrun"
)

// startStack builds the stack's binaries from this checkout and runs
// hack/localstack with the shim on a free port, as `make run-local` does,
// with shimArgs added to the shim's; it returns the shim's URL once the
// stack prints READY, and stops the stack when the test ends.
func startStack(t *testing.T, shimArgs ...string) string {
	t.Helper()
	binDir := t.TempDir()
	pkgs := []string{"../../cmd/manager", "../../cmd/apiserver", "../../sdk/examples/hello",
		"../../sdk/examples/poller", "../../sdk/examples/callbacker", "../../sdk/examples/deployer",
		"../../sdk/examples/formapi", "../../sdk/examples/notifier", "../../hack/localstack"}
	build := exec.Command("go", append([]string{"build", "-o", binDir + "/"}, pkgs...)...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	shimAddr := freeAddr(t)
	args := []string{"--bin-dir", binDir, "--crd-dir", "../../config/crd/bases"}
	for _, a := range shimArgs {
		args = append(args, "--shim-arg", a)
	}
	stack, err := stackrun.Start(context.Background(), stackrun.Options{
		Binary: filepath.Join(binDir, "localstack"), Args: args,
		Env:         append(os.Environ(), "SHIM_ADDR="+shimAddr),
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
	return stack.Shim
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
}
