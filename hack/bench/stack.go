package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// benchNamespace is the stack's namespace: the shim serves it and the
// manager reconciles only it.
const benchNamespace = "default"

// stack is a running bin/localstack.
type stack struct {
	cmd        *exec.Cmd
	done       chan struct{}
	err        error
	shimURL    string
	kubeconfig string
	logsDir    string
	metricsURL string // the manager's /metrics
	managerPID int
	pprofURLs  map[string]string // "manager", "shim" -> http://addr
	http       *http.Client
}

// startStack runs bin/localstack and waits for its READY line.
func startStack(ctx context.Context, cfg config) (*stack, error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	addr := func(i int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i])) }
	st := &stack{
		done:       make(chan struct{}),
		metricsURL: "http://" + addr(1) + "/metrics",
		pprofURLs:  map[string]string{},
		http:       &http.Client{Timeout: 2 * time.Minute},
	}
	args := []string{
		"--bin-dir", cfg.binDir, "--crd-dir", cfg.crdDir, "--assets", cfg.assetsDir,
		"--namespace", benchNamespace, "--ready-timeout", "3m",
		// Only the stack's namespace, so that the baseline's objects are
		// nobody's business.
		"--manager-arg=--namespace=" + benchNamespace,
		"--manager-arg=--metrics-bind-address=" + addr(1),
	}
	if cfg.pprofDir != "" {
		args = append(args, "--manager-arg=--pprof-addr="+addr(2), "--shim-arg=--pprof-addr="+addr(3))
		st.pprofURLs["manager"], st.pprofURLs["shim"] = "http://"+addr(2), "http://"+addr(3)
	}
	for _, a := range cfg.managerArgs {
		args = append(args, "--manager-arg="+a)
	}
	for _, a := range cfg.shimArgs {
		args = append(args, "--shim-arg="+a)
	}
	st.cmd = exec.Command(filepath.Join(cfg.binDir, "localstack"), args...)
	st.cmd.Env = append(os.Environ(), "SHIM_ADDR="+addr(0))
	st.cmd.Stderr = os.Stderr
	stdout, err := st.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	progress("starting the local stack: %s", strings.Join(st.cmd.Args, " "))
	if err := st.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start localstack: %w", err)
	}
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
		st.err = st.cmd.Wait()
		close(st.done)
	}()
	timer := time.NewTimer(4 * time.Minute)
	defer timer.Stop()
	for {
		select {
		case line := <-lines:
			if !strings.HasPrefix(line, "READY ") {
				continue
			}
			for _, f := range strings.Fields(line)[1:] {
				k, v, _ := strings.Cut(f, "=")
				switch k {
				case "shim":
					st.shimURL = v
				case "kubeconfig":
					st.kubeconfig = v
				case "logs":
					st.logsDir = v
				}
			}
			if st.managerPID, err = readPID(filepath.Join(st.logsDir, "pids"), "manager"); err != nil {
				st.stop()
				return nil, err
			}
			progress("stack ready: shim %s, manager pid %d, logs %s", st.shimURL, st.managerPID, st.logsDir)
			return st, nil
		case <-st.done:
			return nil, fmt.Errorf("localstack exited before READY: %v", st.err)
		case <-timer.C:
			st.stop()
			return nil, errors.New("localstack not READY after 4m")
		case <-ctx.Done():
			st.stop()
			return nil, ctx.Err()
		}
	}
}

// alive fails when the stack has stopped.
func (st *stack) alive() error {
	select {
	case <-st.done:
		return fmt.Errorf("the local stack stopped: %v (logs in %s)", st.err, st.logsDir)
	default:
		return nil
	}
}

// stop sends SIGTERM to localstack, which stops every process it started.
func (st *stack) stop() {
	if st.cmd.Process == nil {
		return
	}
	select {
	case <-st.done:
		return
	default:
	}
	progress("stopping the local stack")
	_ = st.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-st.done:
	case <-time.After(45 * time.Second):
		_ = st.cmd.Process.Kill()
		<-st.done
	}
}

// readPID finds name's PID in localstack's pids file.
func readPID(path, name string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read the stack's PIDs: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == name {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("%s lists no %s", path, name)
}

// rssBytes is a process's resident set size, VmRSS of /proc/<pid>/status.
func rssBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// freePorts returns n loopback ports free at the time of the call.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// saveProfile fetches path (a pprof endpoint) of who's pprof server into
// <pprofDir>/<file>; a failure is reported, not fatal.
func (st *stack) saveProfile(ctx context.Context, dir, who, path, file string) {
	base, ok := st.pprofURLs[who]
	if !ok || dir == "" {
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = st.http.Do(req); err == nil {
			defer resp.Body.Close()
			var f *os.File
			if f, err = os.Create(filepath.Join(dir, file)); err == nil {
				_, err = io.Copy(f, resp.Body)
				_ = f.Close()
			}
		}
	}
	if err != nil {
		progress("profile %s of %s: %v", path, who, err)
		return
	}
	progress("wrote %s", filepath.Join(dir, file))
}

// profileCPU takes CPU profiles of the manager and the shim for d, in the
// background; wait on the returned channel.
func (st *stack) profileCPU(ctx context.Context, dir, phase string, d time.Duration) <-chan struct{} {
	done := make(chan struct{})
	if dir == "" {
		close(done)
		return done
	}
	_ = os.MkdirAll(dir, 0o755)
	go func() {
		defer close(done)
		ch := make(chan struct{}, 2)
		for _, who := range []string{"manager", "shim"} {
			go func() {
				st.saveProfile(ctx, dir, who, fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds())), fmt.Sprintf("%s-%s.cpu.pprof", phase, who))
				ch <- struct{}{}
			}()
		}
		<-ch
		<-ch
	}()
	return done
}
