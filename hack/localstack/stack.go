package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"

	"github.com/bkplugin/bk-plugin-operator/internal/stackrun"
)

// examplePlugins are the plugins the stack serves, by binary name.
var examplePlugins = []string{"hello", "poller", "callbacker", "deployer", "formapi", "notifier", "shipper"}

// archiveFile, in the run folder, is the history archive's SQLite file.
const archiveFile = "history.db"

// pidsFile, in the logs folder, lists "<name> <pid>" for every process of
// the stack, so that a test can check that none outlives it.
const pidsFile = "pids"

// stack is one running local system.
type stack struct {
	cfg     config
	log     *log.Logger
	logsDir string
	runDir  string

	cp        *controlPlane
	processes []*process
	// token is the dev bearer token the shim accepts, printed in READY.
	token string
	// exited receives every process that ends; it has room for all.
	exited chan *process
}

// run starts the stack, prints the READY line on stdout and keeps the stack
// up until ctx ends or one of its processes dies.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) (err error) {
	logger := log.New(stderr, "localstack: ", log.Ltime)
	if err := checkAddrFree(cfg.shimAddr, "SHIM_ADDR"); err != nil {
		return err
	}
	root, err := os.MkdirTemp("", "bk-plugin-localstack-")
	if err != nil {
		return fmt.Errorf("create the stack's folder: %w", err)
	}
	s := &stack{
		cfg:     cfg,
		log:     logger,
		logsDir: filepath.Join(root, "logs"),
		runDir:  filepath.Join(root, "run"),
		exited:  make(chan *process, 16),
	}
	for _, d := range []string{s.logsDir, s.runDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	defer func() {
		if stopErr := s.stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		logger.Printf("stopped; logs kept in %s", s.logsDir)
	}()

	kubeconfig, err := s.start(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "READY shim=http://%s kubeconfig=%s logs=%s token=%s\n", cfg.shimAddr, kubeconfig, s.logsDir, s.token)
	logger.Printf("running; stop with Ctrl-C (SIGINT) or SIGTERM")
	select {
	case <-ctx.Done():
		logger.Printf("stopping")
		return nil
	case p := <-s.exited:
		return p.exitError()
	}
}

// start brings every part up and returns the kubeconfig's path once all
// of them answer.
func (s *stack) start(ctx context.Context) (string, error) {
	cfg := s.cfg
	started := time.Now()
	shimPort, err := portOf(cfg.shimAddr)
	if err != nil {
		return "", fmt.Errorf("SHIM_ADDR: %w", err)
	}
	s.log.Printf("starting etcd and kube-apiserver from %s", cfg.assetsDir)
	s.cp, err = startControlPlane(cfg, s.runDir, s.logsDir)
	if err != nil {
		return "", err
	}
	kubeconfig := filepath.Join(s.runDir, "kubeconfig")
	if err := s.cp.writeKubeconfig(kubeconfig); err != nil {
		return "", err
	}
	keyFile := filepath.Join(s.runDir, "callback.key")
	if err := writeCallbackKey(keyFile); err != nil {
		return "", err
	}
	// The stack authenticates like a cluster (docs/security.md): the shim
	// takes a dev bearer token, printed in READY, and plugin pods take
	// executes only with the manager's token.
	tokensFile, executeTokenFile := filepath.Join(s.runDir, "auth-tokens"), filepath.Join(s.runDir, "execute.token")
	if s.token, err = randomHex(24); err != nil {
		return "", err
	}
	executeToken, err := randomHex(32)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(tokensFile, []byte("# the local stack's dev token, for app code "+devAppCode+"\n"+s.token+" "+devAppCode+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write the dev token: %w", err)
	}
	if err := os.WriteFile(executeTokenFile, []byte(executeToken), 0o600); err != nil {
		return "", fmt.Errorf("write the execute token: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return "", err
	}
	if err := bkv1.AddToScheme(scheme); err != nil {
		return "", err
	}
	kc, err := client.New(s.cp.config, client.Options{Scheme: scheme})
	if err != nil {
		return "", fmt.Errorf("connect to kube-apiserver: %w", err)
	}

	// The manager's metrics and probe ports default to ones a second stack
	// or the shim could hold, so every port but the shim's is chosen here.
	ports, err := freePorts(len(examplePlugins)+2, shimPort)
	if err != nil {
		return "", err
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	var checks []check
	pluginURLs := map[string]string{}
	for i, name := range examplePlugins {
		addr := loopback(ports[i])
		pluginURLs[name] = "http://" + addr
		args := append([]string{"serve", "--addr", addr, "--shutdown-delay", "0s", "--execute-token-file", executeTokenFile}, cfg.pluginArgsOf(name)...)
		if err := s.startChild(name, name, args, nil); err != nil {
			return "", err
		}
		checks = append(checks, check{name, httpOK(hc, pluginURLs[name]+"/readyz")})
	}
	env := []string{"KUBECONFIG=" + kubeconfig}
	probeAddr := loopback(ports[len(examplePlugins)+1])
	// The history archive is a SQLite file in the run folder, shared by
	// the manager (which archives) and the shim (which reads through).
	archiveDSN := "sqlite://" + filepath.Join(s.runDir, archiveFile)
	managerArgs := append([]string{
		"--metrics-bind-address", loopback(ports[len(examplePlugins)]),
		"--health-probe-bind-address", probeAddr,
		"--leader-elect=false",
		"--callback-base-url", "http://" + cfg.shimAddr,
		"--callback-key-file", keyFile,
		"--execute-token-file", executeTokenFile,
		"--archive", archiveDSN,
	}, cfg.managerArgs...)
	if err := s.startChild("manager", "manager", managerArgs, env); err != nil {
		return "", err
	}
	checks = append(checks, check{"manager", httpOK(hc, "http://"+probeAddr+"/readyz")})
	shimArgs := append([]string{
		"--addr", cfg.shimAddr,
		"--namespace", cfg.namespace,
		"--callback-key-file", keyFile,
		// The debug panel at the shim's root shows each execute's storage.
		"--debug-api",
		// A --shim-arg --auth-token-file given to the stack comes later and wins.
		"--auth-token-file", tokensFile,
		// Finished invocations the manager archived and deleted are read
		// from there, and a synchronous call the shim answers on its own
		// (--sync-invoke=direct, the default) is archived there.
		"--archive", archiveDSN,
		// The direct path's first executes speak as the manager's do.
		"--callback-base-url", "http://" + cfg.shimAddr,
		"--execute-token-file", executeTokenFile,
	}, cfg.shimArgs...)
	if err := s.startChild("shim", "apiserver", shimArgs, env); err != nil {
		return "", err
	}
	checks = append(checks, check{"shim", httpOK(hc, "http://"+cfg.shimAddr+"/readyz")})
	if err := s.writePIDs(); err != nil {
		return "", err
	}

	versions := 0
	for _, name := range examplePlugins {
		n, err := applyPluginVersions(ctx, kc, filepath.Join(cfg.binDir, name), pluginURLs[name], cfg.namespace)
		if err != nil {
			return "", err
		}
		versions += n
	}
	checks = append(checks, check{"PluginVersions", versionsReady(kc, cfg.namespace, versions)})
	s.log.Printf("waiting for %d plugins, the manager, the shim and %d PluginVersions (logs in %s)", len(examplePlugins), versions, s.logsDir)
	if err := waitAll(ctx, cfg.readyTimeout, checks, s.alive); err != nil {
		return "", fmt.Errorf("%w (logs in %s)", err, s.logsDir)
	}
	s.log.Printf("ready in %s", time.Since(started).Round(100*time.Millisecond))
	return kubeconfig, nil
}

// startChild starts one process from the binaries folder.
func (s *stack) startChild(name, bin string, args, env []string) error {
	p, err := startProcess(name, filepath.Join(s.cfg.binDir, bin), args, env, s.logsDir, s.exited)
	if err != nil {
		return err
	}
	s.processes = append(s.processes, p)
	return nil
}

// alive fails when a process has exited.
func (s *stack) alive() error {
	for _, p := range s.processes {
		if p.exited() {
			return p.exitError()
		}
	}
	return nil
}

// writePIDs lists every process of the stack, control plane included.
func (s *stack) writePIDs() error {
	children, err := stackrun.ChildProcesses()
	if err != nil {
		return err
	}
	for _, p := range s.processes {
		children[p.pid()] = p.name
	}
	var lines []string
	for pid, name := range children {
		lines = append(lines, fmt.Sprintf("%s %d", name, pid))
	}
	sort.Strings(lines)
	path := filepath.Join(s.logsDir, pidsFile)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// stop stops the processes in the reverse order of their start (the shim
// first, so that no new invocation arrives), then the control plane, and
// removes everything but the logs.
func (s *stack) stop() error {
	var errs []error
	for i := len(s.processes) - 1; i >= 0; i-- {
		if err := s.processes[i].stop(s.cfg.stopTimeout); err != nil {
			errs = append(errs, err)
		}
	}
	if s.cp != nil {
		if err := s.cp.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(s.runDir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", s.runDir, err))
	}
	return errors.Join(errs...)
}

// writeCallbackKey writes a fresh random callback signing key, hex-encoded
// because both the manager and the shim trim whitespace from the file.
// devAppCode is the app code the stack's dev token stands for.
const devAppCode = "dev"

// randomHex returns n random bytes in hex.
func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate a token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func writeCallbackKey(path string) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("generate the callback key: %w", err)
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)), 0o600); err != nil {
		return fmt.Errorf("write the callback key: %w", err)
	}
	return nil
}
