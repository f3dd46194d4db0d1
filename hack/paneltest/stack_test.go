package paneltest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startStack builds the stack's binaries from this checkout and runs
// hack/localstack with the shim on a free port, as `make run-local` does,
// with shimArgs added to the shim's; it returns the shim's URL once the
// stack prints READY, and stops the stack when the test ends.
func startStack(t *testing.T, shimArgs ...string) string {
	t.Helper()
	binDir := t.TempDir()
	pkgs := []string{"../../cmd/manager", "../../cmd/apiserver", "../../sdk/examples/hello",
		"../../sdk/examples/poller", "../../sdk/examples/callbacker", "../../sdk/examples/deployer", "../localstack"}
	build := exec.Command("go", append([]string{"build", "-o", binDir + "/"}, pkgs...)...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	shimAddr := freeAddr(t)
	args := []string{"--bin-dir", binDir, "--crd-dir", "../../config/crd/bases"}
	for _, a := range shimArgs {
		args = append(args, "--shim-arg", a)
	}
	cmd := exec.Command(filepath.Join(binDir, "localstack"), args...)
	cmd.Env = append(os.Environ(), "SHIM_ADDR="+shimAddr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		// SIGTERM lets the stack stop every process it started.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(45 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("localstack still running 45s after SIGTERM; stderr:\n%s", stderr)
		}
	})

	// Two busy cores can take a minute to bring etcd, kube-apiserver and
	// every process up.
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("localstack exited before READY; stderr:\n%s", stderr)
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "shim="); ok {
				return v
			}
		}
		t.Fatalf("first stdout line %q is not READY with a shim", line)
	case <-time.After(150 * time.Second):
		t.Fatalf("no READY within 150s; stderr:\n%s", stderr)
	}
	return ""
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

// lockedBuffer collects the stack's stderr, written by exec's goroutine
// while the test may print it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
