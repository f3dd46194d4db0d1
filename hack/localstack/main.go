// Command localstack runs the whole bk-plugin-operator system on one machine,
// with no cluster and no internet: etcd and kube-apiserver from the envtest
// assets, the CRDs, the manager, the standard-API shim and the four example
// plugins as local processes.
//
//	KUBEBUILDER_ASSETS=$(hack/setup-envtest.sh) bin/localstack --bin-dir bin
//
// When every part answers it prints exactly one line on stdout,
//
//	READY shim=http://127.0.0.1:8080 kubeconfig=<path> logs=<dir> token=<dev token>
//
// token is a bearer token the shim accepts (app code "dev"): send it as
// Authorization: Bearer <token>, or paste it into the debug panel.
// and everything else goes to stderr or to one log file per process in
// <dir>. It runs until SIGINT or SIGTERM, then stops every process it
// started. The logs folder is kept; the rest of its temporary folder is
// removed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/cmdutil"
)

// Defaults of the command line.
const (
	defaultShimAddr     = "127.0.0.1:8080"
	defaultNamespace    = "default"
	defaultReadyTimeout = 2 * time.Minute
	defaultStopTimeout  = 15 * time.Second
)

// config is what one run of the stack needs.
type config struct {
	// binDir holds the prebuilt manager, apiserver and example binaries.
	binDir string
	// assetsDir holds kube-apiserver, etcd and kubectl.
	assetsDir string
	// crdDir holds the CRDs to install.
	crdDir string
	// shimAddr is where the shim listens (SHIM_ADDR).
	shimAddr string
	// namespace holds the PluginVersions and invocations.
	namespace string
	// readyTimeout bounds the wait for every part to answer.
	readyTimeout time.Duration
	// stopTimeout bounds the wait for each process to stop after SIGTERM.
	stopTimeout time.Duration
	// managerArgs and shimArgs are appended to the manager's and the
	// shim's command lines; a flag given again overrides the stack's own
	// (hack/bench moves the manager's metrics address and turns on pprof).
	managerArgs, shimArgs cmdutil.StringList
	// pluginArgs are appended to one example plugin's serve command line,
	// given as NAME=ARG (hack/bench turns on the hello plugin's pprof).
	pluginArgs cmdutil.StringList
}

// pluginArgsOf are the --plugin-arg values for the plugin name.
func (c config) pluginArgsOf(name string) []string {
	var out []string
	for _, a := range c.pluginArgs {
		if n, arg, ok := strings.Cut(a, "="); ok && n == name {
			out = append(out, arg)
		}
	}
	return out
}

func main() {
	// A re-executed control-plane binary (see controlplane.go) never returns.
	execControlPlaneBinary()

	cmdutil.Tool[config]{
		Name:  "localstack",
		Parse: parseFlags,
		Run:   func(ctx context.Context, cfg config) error { return run(ctx, cfg, os.Stdout, os.Stderr) },
	}.Main()
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("localstack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{}
	shimAddr := os.Getenv("SHIM_ADDR")
	if shimAddr == "" {
		shimAddr = defaultShimAddr
	}
	fs.StringVar(&cfg.binDir, "bin-dir", "bin", "folder of the manager, apiserver, hello, poller, callbacker and deployer binaries (make build)")
	fs.StringVar(&cfg.assetsDir, "assets", os.Getenv("KUBEBUILDER_ASSETS"), "folder of kube-apiserver, etcd and kubectl (env KUBEBUILDER_ASSETS; hack/setup-envtest.sh prints it)")
	fs.StringVar(&cfg.crdDir, "crd-dir", "config/crd/bases", "folder of the CRDs to install")
	fs.StringVar(&cfg.shimAddr, "shim-addr", shimAddr, "address of the shim (env SHIM_ADDR)")
	fs.StringVar(&cfg.namespace, "namespace", defaultNamespace, "namespace of the PluginVersions and PluginInvocations")
	fs.DurationVar(&cfg.readyTimeout, "ready-timeout", defaultReadyTimeout, "how long every part may take to answer")
	fs.DurationVar(&cfg.stopTimeout, "stop-timeout", defaultStopTimeout, "how long each process may take to stop before it is killed")
	fs.Var(&cfg.managerArgs, "manager-arg", "an extra argument of the manager, after the stack's own (repeatable)")
	fs.Var(&cfg.shimArgs, "shim-arg", "an extra argument of the shim, after the stack's own (repeatable)")
	fs.Var(&cfg.pluginArgs, "plugin-arg", "NAME=ARG: an extra argument of example plugin NAME's serve, after the stack's own (repeatable), such as hello=--pprof-addr=127.0.0.1:6061")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	for _, a := range cfg.pluginArgs {
		if n, _, ok := strings.Cut(a, "="); !ok || !slices.Contains(examplePlugins, n) {
			return config{}, fmt.Errorf("--plugin-arg %q: want NAME=ARG with NAME one of %s", a, strings.Join(examplePlugins, ", "))
		}
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.assetsDir == "" {
		return config{}, errors.New("no control-plane binaries: set KUBEBUILDER_ASSETS=$(hack/setup-envtest.sh) or pass --assets")
	}
	for _, dir := range []string{cfg.binDir, cfg.assetsDir, cfg.crdDir} {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return config{}, fmt.Errorf("%s is not a folder (run from the repository root, after make build)", dir)
		}
	}
	return cfg, nil
}
