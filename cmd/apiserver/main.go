// Command apiserver is the standard plugin API shim: a platform that speaks
// the BlueKing standard plugin API to the Python framework points its base
// URL at http://<shim>/plugins/<code> and works unchanged, while every call
// becomes an operation on PluginInvocations and PluginVersions. The shim
// itself is internal/shim; this file only reads flags.
package main

import (
	"cmp"
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/shim"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	o := shim.CommandOptions{Version: version}
	addr := os.Getenv("SHIM_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	flag.StringVar(&o.Addr, "addr", addr, "Address to serve the standard API on (env SHIM_ADDR).")
	flag.StringVar(&o.MetricsAddr, "metrics-addr", "", "Serve /metrics on this address instead of on --addr.")
	flag.StringVar(&o.Namespace, "namespace", shim.DefaultNamespace, "Namespace of the PluginVersions and PluginInvocations the shim serves.")
	// Every invoke is a create: a client-side limit below what the API
	// server sustains would be the shim's ceiling (50 capped invokes at
	// ~56/s, docs/benchmarks.md); the API server's priority and fairness is
	// what protects it.
	flag.Float64Var(&o.QPS, "kube-api-qps", 2000, "Sustained queries per second to the API server.")
	flag.IntVar(&o.Burst, "kube-api-burst", 4000, "Burst of queries to the API server.")
	flag.StringVar(&o.CallbackKeyFile, "callback-key-file", os.Getenv("BKPLUGIN_CALLBACK_KEY_FILE"), "File holding the callback signing key, the manager's (mounted from a Secret).")
	flag.StringVar(&o.PreviousKeyFile, "callback-previous-key-file", "", "File holding the previous callback key, still accepted while keys rotate.")
	flag.StringVar(&o.AuthTokenFile, "auth-token-file", "", "File of bearer tokens, one per line; when set, every route but callback, /healthz, /readyz and /metrics requires one.")
	flag.DurationVar(&o.InvokeTimeout, "invoke-timeout", shim.DefaultInvokeTimeout, "How long a synchronous invoke waits for the first execute.")
	flag.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", shim.DefaultShutdownTimeout, "How long requests in flight may finish after a stop signal.")
	flag.Int64Var(&o.MaxBodyBytes, "max-body-bytes", shim.DefaultMaxBodyBytes, "Largest request body accepted.")
	flag.StringVar(&o.ClusterDomain, "cluster-domain", versions.DefaultClusterDomain, "DNS domain of Services, to reach plugin pods.")
	flag.StringVar(&o.ArchiveDSN, "archive", cmp.Or(os.Getenv("BKPLUGIN_ARCHIVE"), archive.DefaultDSN), "History archive DSN, the manager's: sqlite:///path/file.db or postgres://user:password@host:5432/db (env BKPLUGIN_ARCHIVE). Schedule, logs, invoke and the history list read finished invocations that left the cluster from it; \"\" reads the cluster only.")
	flag.StringVar(&o.PprofAddr, "pprof-addr", "", "Serve net/http/pprof on this address (off when empty); for profiling, never expose it.")
	flag.BoolVar(&o.DebugAPI, "debug-api", false, "Serve /debug/api/: each invocation's execute count and storage, for the debug panel's timeline.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	o.Logger, o.LoadConfig = ctrl.Log.WithName("shim"), ctrl.GetConfig

	if err := shim.RunCommand(ctrl.SetupSignalHandler(), o); err != nil {
		ctrl.Log.Error(err, "shim stopped")
		os.Exit(1)
	}
}
