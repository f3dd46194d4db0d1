package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/stackrun"
)

// benchNamespace is the stack's namespace: the shim serves it and the
// manager reconciles only it.
const benchNamespace = "default"

// stack is a running bin/localstack.
type stack struct {
	run        *stackrun.Stack
	shimURL    string
	kubeconfig string
	logsDir    string
	metricsURL string // the manager's /metrics
	managerPID int
	pprofURLs  map[string]string // "manager", "shim", helloPprof -> http://addr
	// extraPIDs are processes the bench started beside the stack, by name.
	extraPIDs map[string]int
	http      *http.Client
}

// startStack runs bin/localstack and waits for its READY line.
func startStack(ctx context.Context, cfg config) (*stack, error) {
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	addr := func(i int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i])) }
	st := &stack{
		metricsURL: "http://" + addr(1) + "/metrics",
		pprofURLs:  map[string]string{},
		extraPIDs:  map[string]int{},
		http:       &http.Client{Timeout: 2 * time.Minute},
	}
	args := []string{
		"--bin-dir", cfg.binDir, "--crd-dir", cfg.crdDir, "--assets", cfg.assetsDir,
		"--namespace", benchNamespace, "--ready-timeout", "3m",
		// Only the stack's namespace, so that the baseline's objects are
		// nobody's business.
		"--manager-arg=--namespace=" + benchNamespace,
		"--manager-arg=--metrics-bind-address=" + addr(1),
		// The schedule phase's pollers ask for interval 0 to measure the
		// scheduler's throughput; the manager's default minimum (1s, which
		// keeps such plugins from spinning) would measure the minimum.
		"--manager-arg=--min-poll-interval=1ms",
	}
	if cfg.pprofDir != "" {
		args = append(args, "--manager-arg=--pprof-addr="+addr(2), "--shim-arg=--pprof-addr="+addr(3),
			"--plugin-arg="+helloPprof+"=--pprof-addr="+addr(4))
		st.pprofURLs["manager"], st.pprofURLs["shim"], st.pprofURLs[helloPprof] = "http://"+addr(2), "http://"+addr(3), "http://"+addr(4)
	}
	if cfg.phases["soak"] && cfg.soakKeepFinished > 0 {
		args = append(args, "--manager-arg=--keep-finished="+cfg.soakKeepFinished.String())
	}
	if shimFlags(cfg.binDir, "sync-invoke")["sync-invoke"] {
		// The stack's shim runs the cluster path (a PluginInvocation per
		// call); the direct phase starts a second shim for the other.
		args = append(args, "--shim-arg=--sync-invoke=cluster")
	}
	for _, a := range cfg.managerArgs {
		args = append(args, "--manager-arg="+a)
	}
	for _, a := range cfg.shimArgs {
		args = append(args, "--shim-arg="+a)
	}
	bin := filepath.Join(cfg.binDir, "localstack")
	progress("starting the local stack: %s %s", bin, strings.Join(args, " "))
	st.run, err = stackrun.Start(ctx, stackrun.Options{
		Binary: bin, Args: args, Env: append(os.Environ(), "SHIM_ADDR="+addr(0)),
		Stderr: os.Stderr, StartTimeout: 4 * time.Minute, StopTimeout: 45 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	st.shimURL, st.kubeconfig, st.logsDir = st.run.Shim, st.run.Kubeconfig, st.run.Logs
	if st.managerPID, err = readPID(filepath.Join(st.logsDir, "pids"), "manager"); err != nil {
		st.stop()
		return nil, err
	}
	progress("stack ready: shim %s, manager pid %d, logs %s", st.shimURL, st.managerPID, st.logsDir)
	return st, nil
}

// alive fails when the stack has stopped.
func (st *stack) alive() error {
	if exited, err := st.run.Exited(); exited {
		return fmt.Errorf("the local stack stopped: %v (logs in %s)", err, st.logsDir)
	}
	return nil
}

// stop sends SIGTERM to localstack, which stops every process it started.
func (st *stack) stop() {
	if exited, _ := st.run.Exited(); exited {
		return
	}
	progress("stopping the local stack")
	if err := st.run.Stop(); err != nil {
		progress("%v", err)
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

// phaseShim is the shim a phase runs against.
func phaseShim(phase string) string {
	if phase == "direct" {
		return directShimName
	}
	return "shim"
}

// helloPprof names the hello plugin's pprof address in pprofURLs.
const helloPprof = "hello"

// profileCPU takes CPU profiles of the manager and the shim (and, in the
// invoke phases, the hello plugin) for d, in the background; wait on the
// returned channel.
func (st *stack) profileCPU(ctx context.Context, dir, phase string, d time.Duration) <-chan struct{} {
	done := make(chan struct{})
	if dir == "" {
		close(done)
		return done
	}
	_ = os.MkdirAll(dir, 0o755)
	go func() {
		defer close(done)
		profiled := []string{"manager", phaseShim(phase)}
		if phase == "invoke" || phase == "direct" {
			// The invoke phases call the hello plugin: its server's share
			// of the CPU per invoke is the plugin's.
			profiled = append(profiled, helloPprof)
		}
		ch := make(chan struct{}, len(profiled))
		for _, who := range profiled {
			go func() {
				st.saveProfile(ctx, dir, who, fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds())), fmt.Sprintf("%s-%s.cpu.pprof", phase, who))
				ch <- struct{}{}
			}()
		}
		for range profiled {
			<-ch
		}
	}()
	return done
}
