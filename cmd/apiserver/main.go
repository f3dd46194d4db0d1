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
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/callbackkey"
	"github.com/bkplugin/bk-plugin-operator/internal/identity"
	"github.com/bkplugin/bk-plugin-operator/internal/pluginexec"
	"github.com/bkplugin/bk-plugin-operator/internal/shim"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
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
	flag.DurationVar(&o.CallbackKeyGrace, "callback-key-grace", callbackkey.DefaultGrace, "How long a key replaced in --callback-key-file is still accepted: the file is followed, so keys rotate with no restart.")
	flag.DurationVar(&o.CallbackTokenMaxTTL, "callback-token-max-ttl", protocol.DefaultCallbackTokenTTL, "Refuse callback tokens that expire further ahead than this (at most 24h; at least the manager's --callback-token-ttl).")
	flag.StringVar(&o.AuthTokenFile, "auth-token-file", os.Getenv("BKPLUGIN_AUTH_TOKEN_FILE"), "File of bearer tokens, \"token [app_code]\" per line; the app code is the caller's verified identity (env BKPLUGIN_AUTH_TOKEN_FILE).")
	flag.StringVar(&o.GatewayPublicKeys, "gateway-public-keys", os.Getenv("BKPLUGIN_GATEWAY_PUBLIC_KEYS"), "PEM file, or directory of <gateway-name>.pem files, of the BlueKing API gateways' public keys; X-Bkapi-JWT is verified against them (env BKPLUGIN_GATEWAY_PUBLIC_KEYS).")
	flag.DurationVar(&o.JWTLeeway, "jwt-leeway", identity.DefaultLeeway, "Clock skew allowed on a gateway JWT's exp and nbf.")
	flag.BoolVar(&o.InsecureNoAuth, "insecure-no-auth", false, "Run with neither --auth-token-file nor --gateway-public-keys: every caller is anonymous. Laptops only.")
	flag.BoolVar(&o.TrustIdentityHeaders, "trust-identity-headers", false, "DEV ONLY: take the caller's X-Bkplugin-App-Code and X-Bkplugin-Username as its identity; anyone may then claim any app.")
	flag.Func("public-routes", "Comma-separated routes served without a credential: plugins, meta, detail, schedule, logs (bk-sops reads meta,detail,schedule unauthenticated). Off by default.", func(v string) error {
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); r != "" {
				o.PublicRoutes = append(o.PublicRoutes, r)
			}
		}
		return nil
	})
	flag.DurationVar(&o.BodyReadTimeout, "body-read-timeout", shim.DefaultBodyReadTimeout, "How long a request body may take to arrive (negative: no bound).")
	flag.DurationVar(&o.InvokeTimeout, "invoke-timeout", shim.DefaultInvokeTimeout, "How long a synchronous invoke waits for the first execute.")
	flag.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", shim.DefaultShutdownTimeout, "How long requests in flight may finish after a stop signal.")
	flag.Int64Var(&o.MaxBodyBytes, "max-body-bytes", shim.DefaultMaxBodyBytes, "Largest request body accepted.")
	flag.StringVar(&o.ClusterDomain, "cluster-domain", versions.DefaultClusterDomain, "DNS domain of Services, to reach plugin pods.")
	flag.StringVar(&o.ArchiveDSN, "archive", cmp.Or(os.Getenv("BKPLUGIN_ARCHIVE"), archive.DefaultDSN), "History archive DSN, the manager's: sqlite:///path/file.db or postgres://user:password@host:5432/db (env BKPLUGIN_ARCHIVE). Schedule, logs, invoke and the history list read finished invocations that left the cluster from it; \"\" reads the cluster only.")
	flag.StringVar(&o.SyncInvoke, "sync-invoke", cmp.Or(os.Getenv("BKPLUGIN_SYNC_INVOKE"), shim.SyncInvokeDirect), "How a synchronous invoke runs: direct (the shim makes the first execute; a call that finishes at once is archived and answered with no PluginInvocation) or cluster (every invoke is a PluginInvocation the manager executes). Async invokes, finish notifications and deadlines always go through the cluster (env BKPLUGIN_SYNC_INVOKE).")
	flag.StringVar(&o.CallbackBaseURL, "callback-base-url", os.Getenv("BKPLUGIN_CALLBACK_BASE_URL"), "The shim's URL as third parties reach it, the manager's --callback-base-url: callback URLs of the first executes the shim makes are built under it.")
	flag.DurationVar(&o.CallbackTokenTTL, "callback-token-ttl", protocol.DefaultCallbackTokenTTL, "The manager's --callback-token-ttl, for the first executes the shim makes.")
	flag.StringVar(&o.ExecuteTokenFile, "execute-token-file", os.Getenv("BKPLUGIN_EXECUTE_TOKEN_FILE"), "File holding the token sent with every execute, the manager's (env BKPLUGIN_EXECUTE_TOKEN_FILE).")
	flag.DurationVar(&o.MinPollInterval, "min-poll-interval", pluginexec.DefaultMinPollInterval, "The manager's --min-poll-interval, for the first executes the shim makes.")
	flag.DurationVar(&o.MaxPollInterval, "max-poll-interval", pluginexec.DefaultMaxPollInterval, "The manager's --max-poll-interval, for the first executes the shim makes.")
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
