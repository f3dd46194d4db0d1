package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	shimclient "github.com/bkplugin/bk-plugin-operator/sdk/client"
)

// directShimName names the second shim in CPU figures and the PIDs the
// bench keeps.
const directShimName = "shim-direct"

// shimFlags reports which of flags the shim binary in binDir knows, read
// from its -help: the bench runs against shims with and without the
// direct path (--sync-invoke, issue 21).
func shimFlags(binDir string, flags ...string) map[string]bool {
	out, _ := exec.Command(filepath.Join(binDir, "apiserver"), "-help").CombinedOutput()
	known := map[string]bool{}
	for _, f := range flags {
		known[f] = strings.Contains(string(out), "-"+f+" ")
	}
	return known
}

// direct measures synchronous invokes of hello through a second shim that
// runs the direct path (--sync-invoke=direct: the shim executes the first
// call itself and a SUCCESS never reaches the API server), beside the
// stack's, which runs the cluster path, so that both are measured in one
// run against one baseline.
func (b *bench) direct(ctx context.Context, r *results) error {
	flags := shimFlags(b.cfg.binDir, "sync-invoke", "execute-token-file", "callback-base-url")
	if !flags["sync-invoke"] {
		r.DirectNote = "the shim has no --sync-invoke: the direct path was not measured"
		progress("direct: %s", r.DirectNote)
		return nil
	}
	c, stop, err := b.st.startDirectShim(ctx, b.cfg, flags)
	if err != nil {
		return err
	}
	defer stop()
	run, err := b.runInvokes(ctx, c, "direct", clusterPathProcesses(directShimName))
	if err != nil {
		return err
	}
	r.InvokeDirectPerS, r.InvokeDirectP99Ms, r.InvokeDirectCPUMs = run.perS, run.p99Ms, run.cpu.perCallMs(run.n)
	progress("invoke (direct path): %.0f/s, p50 %.1f ms, p99 %.1f ms, CPU %.2f ms per invoke (%s)",
		run.perS, run.p50Ms, run.p99Ms, r.InvokeDirectCPUMs, run.cpu.String(run.n))
	return nil
}

// startDirectShim starts a second shim with --sync-invoke=direct on the
// stack's files (kubeconfig, callback key, tokens, archive, and, when the
// shim has the flags (flags), the execute token and the stack's shim as
// the callback URL, as localstack gives its own shim), waits until it is
// ready and returns a client of it and how to stop it.
func (st *stack) startDirectShim(ctx context.Context, cfg config, flags map[string]bool) (*shimclient.Client, func(), error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	runDir := filepath.Dir(st.kubeconfig)
	args := []string{
		"--addr", addr, "--namespace", benchNamespace,
		"--callback-key-file", filepath.Join(runDir, "callback.key"),
		"--auth-token-file", filepath.Join(runDir, "auth-tokens"),
		"--archive", "sqlite://" + filepath.Join(runDir, "history.db"),
		"--sync-invoke=direct",
	}
	if flags["execute-token-file"] {
		args = append(args, "--execute-token-file", filepath.Join(runDir, "execute.token"))
	}
	if flags["callback-base-url"] {
		args = append(args, "--callback-base-url", st.shimURL)
	}
	if cfg.pprofDir != "" {
		pprof := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
		args = append(args, "--pprof-addr", pprof)
		st.pprofURLs[directShimName] = "http://" + pprof
	}
	args = append(args, cfg.shimArgs...)
	logPath := filepath.Join(st.logsDir, directShimName+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(filepath.Join(cfg.binDir, "apiserver"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+st.kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, nil, fmt.Errorf("start the direct shim: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited); _ = logFile.Close() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		delete(st.extraPIDs, directShimName)
	}
	progress("direct shim: %s %s (log %s)", cmd.Path, strings.Join(args, " "), logPath)
	url := "http://" + addr
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := st.http.Get(url + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			return nil, nil, fmt.Errorf("the direct shim exited; see %s", logPath)
		case <-ctx.Done():
			stop()
			return nil, nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, fmt.Errorf("the direct shim was not ready in 2m; see %s", logPath)
		}
	}
	st.extraPIDs[directShimName] = cmd.Process.Pid
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 2048, 2048
	c, err := shimclient.New(url, shimclient.Options{HTTPClient: &http.Client{Transport: t}, Timeout: time.Minute, BearerToken: st.run.Token})
	if err != nil {
		stop()
		return nil, nil, err
	}
	return c, stop, nil
}
