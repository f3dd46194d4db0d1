//go:build envtest

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/syncbuf"
	"github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"

	"github.com/bkplugin/bk-plugin-operator/test/stacktest"
)

// TestLocalStack runs the stack as a user would, drives every example
// plugin through the shim over HTTP, stops it with SIGTERM and checks that
// no process of it is left.
func TestLocalStack(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is unset; make test sets it (hack/setup-envtest.sh)")
	}
	binDir := stacktest.Build(t, stacktest.StackPackages()...)
	shimAddr := loopback(stacktest.FreePort(t))

	cmd := exec.Command(filepath.Join(binDir, "localstack"), "--bin-dir", binDir, "--crd-dir", "../../config/crd/bases")
	cmd.Env = append(os.Environ(), "SHIM_ADDR="+shimAddr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})

	ready := waitReady(t, lines, &stderr)
	fields := parseReady(t, ready)
	if want := "http://" + shimAddr; fields["shim"] != want {
		t.Fatalf("READY names shim %q, want %q", fields["shim"], want)
	}
	if _, err := os.Stat(fields["kubeconfig"]); err != nil {
		t.Fatalf("READY's kubeconfig: %v", err)
	}

	driveShim(t, fields["shim"], fields["token"])

	pids := readPIDs(t, filepath.Join(fields["logs"], pidsFile))
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("localstack exited with %v after SIGTERM; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("localstack still running 60s after SIGTERM; stderr:\n%s", stderr.String())
	}
	for line := range lines {
		t.Errorf("stdout after READY: %q (READY must be the only line)", line)
	}
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) outlived the stack", name, pid)
		}
	}
	if _, err := os.Stat(fields["kubeconfig"]); !os.IsNotExist(err) {
		t.Errorf("the stack's run folder was not removed: stat %s: %v", fields["kubeconfig"], err)
	}
	if err := checkAddrFree(shimAddr, "SHIM_ADDR"); err != nil {
		t.Errorf("shim port after stop: %v", err)
	}
}

// driveShim invokes hello, poller and callbacker and checks their ends.
func driveShim(t *testing.T, shim, token string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The stack's shim authenticates like a cluster's: nothing without the
	// dev token READY printed.
	anon, err := client.New(shim, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.ListPlugins(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("the stack's shim without a token: %v, want 401", err)
	}
	c, err := client.New(shim, client.Options{BearerToken: token})
	if err != nil {
		t.Fatal(err)
	}

	hello := invoke(ctx, t, c, "hello", "1.0.0", map[string]any{"name": "local"}, false)
	if hello.State != protocol.StateSuccess || !strings.Contains(string(hello.Outputs), "Hello, local!") {
		t.Errorf("hello: state %s outputs %s err %q, want SUCCESS with the greeting", hello.State, hello.Outputs, hello.Err)
	}

	poll := invoke(ctx, t, c, "poller", "1.0.0", map[string]any{"polls": 2, "interval": 1}, true)
	end, err := c.WaitTerminal(ctx, "poller", poll.TraceID, 100*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	if end.State != protocol.StateSuccess || !strings.Contains(string(end.Outputs), `"polls_done":2`) {
		t.Errorf("poller: state %s outputs %s err %q, want SUCCESS after 2 polls", end.State, end.Outputs, end.Err)
	}

	cb := invoke(ctx, t, c, "callbacker", "1.0.0", nil, false)
	if cb.State != protocol.StateCallback {
		t.Fatalf("callbacker: state %s err %q, want CALLBACK", cb.State, cb.Err)
	}
	var outs struct {
		CallbackURL string `json:"callback_url"`
	}
	if err := json.Unmarshal(cb.Outputs, &outs); err != nil || outs.CallbackURL == "" {
		t.Fatalf("callbacker outputs %s have no callback_url (%v)", cb.Outputs, err)
	}
	if !strings.HasPrefix(outs.CallbackURL, shim+"/") {
		t.Errorf("callback URL %s is not under the shim %s", outs.CallbackURL, shim)
	}
	if err := c.CallbackURL(ctx, outs.CallbackURL, map[string]any{"approved": true}); err != nil {
		t.Fatal(err)
	}
	end, err = c.WaitTerminal(ctx, "callbacker", cb.TraceID, 100*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	if end.State != protocol.StateSuccess || !strings.Contains(string(end.Outputs), `"approved":true`) {
		t.Errorf("callbacker: state %s outputs %s err %q, want SUCCESS with the callback's data", end.State, end.Outputs, end.Err)
	}
}

func invoke(ctx context.Context, t *testing.T, c *client.Client, code, version string, inputs any, async bool) *client.InvokeResult {
	t.Helper()
	req, err := stdapi.NewInvokeRequest(inputs, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Invoke(ctx, code, version, req, client.InvokeOptions{Async: async})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// waitReady returns the READY line, failing with the stack's stderr when it
// does not come.
func waitReady(t *testing.T, lines <-chan string, stderr fmt.Stringer) string {
	t.Helper()
	deadline := time.After(90 * time.Second)
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("localstack exited before READY; stderr:\n%s", stderr)
		}
		if !strings.HasPrefix(line, "READY ") {
			t.Fatalf("first stdout line %q is not READY", line)
		}
		return line
	case <-deadline:
		t.Fatalf("no READY within 90s; stderr:\n%s", stderr)
	}
	return ""
}

// parseReady splits "READY k=v k=v" into its fields.
func parseReady(t *testing.T, line string) map[string]string {
	t.Helper()
	fields := map[string]string{}
	for _, f := range strings.Fields(strings.TrimPrefix(line, "READY ")) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("READY line %q: field %q is not key=value", line, f)
		}
		fields[k] = v
	}
	for _, k := range []string{"shim", "kubeconfig", "logs", "token"} {
		if fields[k] == "" {
			t.Fatalf("READY line %q has no %s", line, k)
		}
	}
	return fields
}

// readPIDs reads the stack's "<name> <pid>" list.
func readPIDs(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pids := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, p, _ := strings.Cut(sc.Text(), " ")
		pid, err := strconv.Atoi(p)
		if err != nil {
			t.Fatalf("%s: line %q", path, sc.Text())
		}
		pids[name] = pid
	}
	for _, want := range []string{"etcd", "kube-apiserver", "manager", "shim", "hello", "poller", "callbacker"} {
		if _, ok := pids[want]; !ok {
			t.Errorf("%s lists no %s: %v", path, want, pids)
		}
	}
	return pids
}
