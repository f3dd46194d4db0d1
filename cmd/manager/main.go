// Command manager runs the bk-plugin-operator controllers: it reconciles
// PluginVersions (probing their plugin pods) and PluginInvocations (calling
// plugin pods and recording every state in the CR). The wiring is
// internal/manager; this file only reads flags.
package main

import (
	"flag"
	"os"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/bkplugin/bk-plugin-operator/internal/controller/invocation"
	"github.com/bkplugin/bk-plugin-operator/internal/manager"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

func main() {
	var o manager.Options
	flag.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8090", "Address of the Prometheus metrics endpoint; 0 disables it.")
	flag.StringVar(&o.ProbeAddr, "health-probe-bind-address", ":8091", "Address of /healthz and /readyz.")
	flag.BoolVar(&o.LeaderElect, "leader-elect", false, "Elect a leader so that only one of several replicas reconciles.")
	flag.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader-election lease (default: the pod's).")
	flag.Func("namespace", "Reconcile only these namespaces, comma-separated; repeatable (default: all, which needs cluster-wide RBAC).", func(v string) error {
		for _, ns := range strings.Split(v, ",") {
			if ns = strings.TrimSpace(ns); ns != "" {
				o.Namespaces = append(o.Namespaces, ns)
			}
		}
		return nil
	})
	flag.DurationVar(&o.CallbackTokenTTL, "callback-token-ttl", protocol.DefaultCallbackTokenTTL, "How long the callback URLs plugins prepare stay valid (at most 24h).")
	flag.DurationVar(&o.MinPollInterval, "min-poll-interval", invocation.DefaultMinPollInterval, "Shortest interval a plugin may ask to be polled after; shorter ones are raised to it.")
	flag.DurationVar(&o.MaxPollInterval, "max-poll-interval", invocation.DefaultMaxPollInterval, "Longest interval a plugin may ask to be polled after; longer ones are cut to it.")
	flag.IntVar(&o.MaxCallbacksPerAnswer, "max-callbacks-per-answer", invocation.DefaultMaxCallbacksPerAnswer, "Callbacks one execute may prepare; more end the invocation FAIL.")
	flag.IntVar(&o.MaxPreparedCallbacks, "max-callbacks-per-invocation", invocation.DefaultMaxPreparedCallbacks, "Callbacks one invocation may prepare in all; more end it FAIL.")
	// Every execute is a status write, so a client-side limit below what
	// the API server sustains (~450 status writes/s on 2 cores, docs/benchmarks.md)
	// would be the manager's ceiling; the API server's priority and fairness
	// is what protects it.
	flag.Float64Var(&o.QPS, "kube-api-qps", 2000, "Sustained queries per second to the API server.")
	flag.IntVar(&o.Burst, "kube-api-burst", 4000, "Burst of queries to the API server.")
	flag.IntVar(&o.Concurrency, "max-concurrent-reconciles", 32, "PluginInvocations reconciled at once.")
	flag.IntVar(&o.MaxWorkersPerPlugin, "max-workers-per-plugin", 0, "Of those, how many one plugin's invocations may hold at once, so that the others always find one; 0 means three quarters.")
	flag.StringVar(&o.Archive, "archive", manager.DefaultArchiveDSN, "History archive DSN: sqlite:///path/file.db (one host) or postgres://user:password@host:5432/db (clusters). Finished invocations are archived there, then deleted from the cluster.")
	flag.DurationVar(&o.KeepFinished, "keep-finished", manager.DefaultKeepFinished, "How long a finished invocation stays in the cluster after it is archived (its spec.ttlSecondsAfterFinished wins).")
	flag.DurationVar(&o.HistoryRetention, "history-retention", manager.DefaultHistoryRetention, "How long the archive keeps an invocation after it finished.")
	flag.DurationVar(&o.RetryBudget, "retry-budget", 2*time.Minute, "How long transport errors calling a plugin pod are retried before the invocation fails.")
	flag.StringVar(&o.CallbackBaseURL, "callback-base-url", os.Getenv("BKPLUGIN_CALLBACK_BASE_URL"), "The shim's URL as third parties reach it; callback URLs are built under it.")
	flag.StringVar(&o.CallbackKeyFile, "callback-key-file", os.Getenv("BKPLUGIN_CALLBACK_KEY_FILE"), "File holding the callback signing key (mounted from a Secret).")
	flag.StringVar(&o.ExecuteTokenFile, "execute-token-file", os.Getenv("BKPLUGIN_EXECUTE_TOKEN_FILE"), "File holding the token sent with every execute, the one plugin pods check (env BKPLUGIN_EXECUTE_TOKEN_FILE; mounted from a Secret).")
	flag.StringVar(&o.CallbackKey.Secret, "callback-key-secret", "", "Secret to read the callback key from, created with a random key if absent, when --callback-key-file does not exist.")
	flag.StringVar(&o.CallbackKey.Namespace, "callback-key-secret-namespace", os.Getenv("POD_NAMESPACE"), "Namespace of --callback-key-secret (default: $POD_NAMESPACE).")
	flag.StringVar(&o.ClusterDomain, "cluster-domain", versions.DefaultClusterDomain, "DNS domain of Services.")
	flag.DurationVar(&o.ProbeInterval, "probe-interval", 5*time.Minute, "How often a Ready PluginVersion's plugin pod is probed again.")
	flag.DurationVar(&o.RetireGracePeriod, "retire-grace-period", time.Hour, "How long a deleted PluginVersion or PluginServer waits for its live invocations when it sets no retireGracePeriodSeconds.")
	flag.IntVar(&o.WebhookPort, "webhook-port", 0, "Serve the PluginVersion admission webhook on this port (TLS); 0 serves none, and breaking versions are marked Compatible=False instead.")
	flag.StringVar(&o.WebhookCertDir, "webhook-cert-dir", "", "Directory holding the webhook's tls.crt and tls.key (default: controller-runtime's).")
	flag.StringVar(&o.PprofAddr, "pprof-addr", "", "Serve net/http/pprof on this address (off when empty); for profiling, never expose it.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	o.Logger, o.Config = ctrl.Log.WithName("setup"), ctrl.GetConfigOrDie

	if err := manager.Run(ctrl.SetupSignalHandler(), o); err != nil {
		ctrl.Log.Error(err, "manager stopped")
		os.Exit(1)
	}
}
