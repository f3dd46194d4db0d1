// Command apiserver is the standard plugin API shim: a platform that speaks
// the BlueKing standard plugin API to the Python framework points its base
// URL at http://<shim>/plugins/<code> and works unchanged, while every call
// becomes an operation on PluginInvocations and PluginVersions.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/bkplugin/bk-plugin-operator/cmd/apiserver/app"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// minKeyBytes matches the manager's rule for the callback key.
const minKeyBytes = 16

type options struct {
	addr, metricsAddr, namespace string
	qps                          float64
	burst                        int
	callbackKeyFile              string
	previousKeyFile              string
	authTokenFile                string
	invokeTimeout                time.Duration
	shutdownTimeout              time.Duration
	maxBodyBytes                 int64
	clusterDomain                string
	pprofAddr                    string
	debugAPI                     bool
}

func main() {
	var o options
	addr := os.Getenv("SHIM_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	flag.StringVar(&o.addr, "addr", addr, "Address to serve the standard API on (env SHIM_ADDR).")
	flag.StringVar(&o.metricsAddr, "metrics-addr", "", "Serve /metrics on this address instead of on --addr.")
	flag.StringVar(&o.namespace, "namespace", app.DefaultNamespace, "Namespace of the PluginVersions and PluginInvocations the shim serves.")
	// Every invoke is a create: a client-side limit below what the API
	// server sustains would be the shim's ceiling (50 capped invokes at
	// ~56/s, docs/benchmarks.md); the API server's priority and fairness is
	// what protects it.
	flag.Float64Var(&o.qps, "kube-api-qps", 2000, "Sustained queries per second to the API server.")
	flag.IntVar(&o.burst, "kube-api-burst", 4000, "Burst of queries to the API server.")
	flag.StringVar(&o.callbackKeyFile, "callback-key-file", os.Getenv("BKPLUGIN_CALLBACK_KEY_FILE"), "File holding the callback signing key, the manager's (mounted from a Secret).")
	flag.StringVar(&o.previousKeyFile, "callback-previous-key-file", "", "File holding the previous callback key, still accepted while keys rotate.")
	flag.StringVar(&o.authTokenFile, "auth-token-file", "", "File of bearer tokens, one per line; when set, every route but callback, /healthz, /readyz and /metrics requires one.")
	flag.DurationVar(&o.invokeTimeout, "invoke-timeout", app.DefaultInvokeTimeout, "How long a synchronous invoke waits for the first execute.")
	flag.DurationVar(&o.shutdownTimeout, "shutdown-timeout", app.DefaultShutdownTimeout, "How long requests in flight may finish after a stop signal.")
	flag.Int64Var(&o.maxBodyBytes, "max-body-bytes", app.DefaultMaxBodyBytes, "Largest request body accepted.")
	flag.StringVar(&o.clusterDomain, "cluster-domain", "cluster.local", "DNS domain of Services, to reach plugin pods.")
	flag.StringVar(&o.pprofAddr, "pprof-addr", "", "Serve net/http/pprof on this address (off when empty); for profiling, never expose it.")
	flag.BoolVar(&o.debugAPI, "debug-api", false, "Serve /debug/api/: each invocation's execute count and storage, for the debug panel's timeline.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(o); err != nil {
		ctrl.Log.Error(err, "shim stopped")
		os.Exit(1)
	}
}

func run(o options) error {
	log := ctrl.Log.WithName("shim")
	key, err := readKey(o.callbackKeyFile)
	if err != nil {
		return err
	}
	if key == nil {
		log.Info("no --callback-key-file: every callback will be refused")
	}
	var previous [][]byte
	if o.previousKeyFile != "" {
		prev, err := readKey(o.previousKeyFile)
		if err != nil {
			return err
		}
		previous = append(previous, prev)
	}
	tokens, err := readTokens(o.authTokenFile)
	if err != nil {
		return err
	}
	if o.authTokenFile == "" {
		log.Info("no --auth-token-file: callers are not authenticated")
	}

	if o.pprofAddr != "" {
		if err := servePprof(o.pprofAddr); err != nil {
			return err
		}
		log.Info("serving pprof", "addr", o.pprofAddr)
	}

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst
	srv, err := app.New(app.Options{
		Config:               cfg,
		Namespace:            o.namespace,
		CallbackKey:          key,
		PreviousCallbackKeys: previous,
		AuthTokens:           tokens,
		InvokeTimeout:        o.invokeTimeout,
		MaxBodyBytes:         o.maxBodyBytes,
		ClusterDomain:        o.clusterDomain,
		Logger:               log,
		Addr:                 o.addr,
		MetricsAddr:          o.metricsAddr,
		ShutdownTimeout:      o.shutdownTimeout,
		Version:              version,
		DebugAPI:             o.debugAPI,
	})
	if err != nil {
		return err
	}
	return srv.Run(ctrl.SetupSignalHandler())
}

// servePprof serves net/http/pprof on addr, on a mux of its own so that
// the profiles are never reachable on the API's address.
func servePprof(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for pprof on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() { _ = (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(ln) }()
	return nil
}

// readKey reads a callback key file; "" means no key.
func readKey(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read callback key: %w", err)
	}
	key := bytes.TrimSpace(b)
	if len(key) < minKeyBytes {
		return nil, fmt.Errorf("callback key in %s is %d bytes; use at least %d random bytes", path, len(key), minKeyBytes)
	}
	return key, nil
}

// readTokens reads one bearer token per line, skipping blank lines and
// # comments.
func readTokens(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read auth tokens: %w", err)
	}
	defer f.Close()
	var tokens []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tokens = append(tokens, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read auth tokens from %s: %w", path, err)
	}
	if len(tokens) == 0 {
		return nil, errors.New("--auth-token-file " + path + " holds no token; refusing to run open by mistake")
	}
	return tokens, nil
}
