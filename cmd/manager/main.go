// Command manager runs the bk-plugin-operator controllers: it reconciles
// PluginVersions (probing their plugin pods) and PluginInvocations (calling
// plugin pods and recording every state in the CR).
package main

import (
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/controllers"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/retirement"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/server"
	"github.com/bkplugin/bk-plugin-operator/internal/retire"
)

// options are the manager's command-line options.
type options struct {
	metricsAddr, probeAddr  string
	leaderElect             bool
	leaderElectionNamespace string
	watchNamespace          string
	qps                     float64
	burst                   int
	concurrency             int
	defaultTTL              time.Duration
	retryBudget             time.Duration
	callbackBaseURL         string
	callbackKeyFile         string
	clusterDomain           string
	probeInterval           time.Duration
	pprofAddr               string
	retireGracePeriod       time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8090", "Address of the Prometheus metrics endpoint; 0 disables it.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8091", "Address of /healthz and /readyz.")
	flag.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader so that only one of several replicas reconciles.")
	flag.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader-election lease (default: the pod's).")
	flag.StringVar(&o.watchNamespace, "namespace", "", "Reconcile only this namespace (default: all).")
	// Every execute is a status write, so a client-side limit below what
	// the API server sustains (~450 status writes/s on 2 cores, docs/benchmarks.md)
	// would be the manager's ceiling; the API server's priority and fairness
	// is what protects it.
	flag.Float64Var(&o.qps, "kube-api-qps", 2000, "Sustained queries per second to the API server.")
	flag.IntVar(&o.burst, "kube-api-burst", 4000, "Burst of queries to the API server.")
	flag.IntVar(&o.concurrency, "max-concurrent-reconciles", 32, "PluginInvocations reconciled at once.")
	flag.DurationVar(&o.defaultTTL, "default-ttl", controllers.DefaultTTLAfterFinished, "How long finished invocations are kept when they set no ttlSecondsAfterFinished.")
	flag.DurationVar(&o.retryBudget, "retry-budget", 2*time.Minute, "How long transport errors calling a plugin pod are retried before the invocation fails.")
	flag.StringVar(&o.callbackBaseURL, "callback-base-url", os.Getenv("BKPLUGIN_CALLBACK_BASE_URL"), "The shim's URL as third parties reach it; callback URLs are built under it.")
	flag.StringVar(&o.callbackKeyFile, "callback-key-file", os.Getenv("BKPLUGIN_CALLBACK_KEY_FILE"), "File holding the callback signing key (mounted from a Secret).")
	flag.StringVar(&o.clusterDomain, "cluster-domain", controllers.DefaultClusterDomain, "DNS domain of Services.")
	flag.DurationVar(&o.probeInterval, "probe-interval", 5*time.Minute, "How often a Ready PluginVersion's plugin pod is probed again.")
	flag.StringVar(&o.pprofAddr, "pprof-addr", "", "Serve net/http/pprof on this address (off when empty); for profiling, never expose it.")
	flag.DurationVar(&o.retireGracePeriod, "retire-grace-period", time.Hour, "How long a deleted PluginVersion or PluginServer waits for its live invocations when it sets no retireGracePeriodSeconds.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(o); err != nil {
		ctrl.Log.Error(err, "manager stopped")
		os.Exit(1)
	}
}

func run(o options) error {
	setupLog := ctrl.Log.WithName("setup")
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := bkv1.AddToScheme(scheme); err != nil {
		return err
	}

	var callbackKey []byte
	if o.callbackKeyFile != "" {
		b, err := os.ReadFile(o.callbackKeyFile)
		if err != nil {
			return fmt.Errorf("read callback key: %w", err)
		}
		callbackKey = bytes.TrimSpace(b)
		if len(callbackKey) < 16 {
			return fmt.Errorf("callback key in %s is %d bytes; use at least 16 random bytes", o.callbackKeyFile, len(callbackKey))
		}
	}
	if o.callbackBaseURL == "" || len(callbackKey) == 0 {
		setupLog.Info("no --callback-base-url or --callback-key-file: plugins cannot prepare callbacks")
	}

	restCfg := ctrl.GetConfigOrDie()
	restCfg.QPS, restCfg.Burst = float32(o.qps), o.burst

	mgrOpts := ctrl.Options{
		Scheme: scheme,
		Metrics: metricsserver.Options{
			BindAddress: o.metricsAddr,
			// HTTP/2 is off for the metrics server, as kubebuilder
			// recommends, against the HTTP/2 rapid-reset attacks.
			TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
		},
		HealthProbeBindAddress:  o.probeAddr,
		PprofBindAddress:        o.pprofAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "bk-plugin-operator.bkplugin.io",
		LeaderElectionNamespace: o.leaderElectionNamespace,
		// The manager stops reconciling as soon as it loses the lease, so a
		// new leader can start at once instead of waiting out the lease.
		LeaderElectionReleaseOnCancel: true,
	}
	// The cache holds every invocation; managed fields are a third of a
	// small one's size and the manager never reads them (its writes are
	// updates and merge patches, which keep them on the server).
	mgrOpts.Cache = cache.Options{DefaultTransform: cache.TransformStripManagedFields(), ByObject: server.CacheByObject()}
	if o.watchNamespace != "" {
		mgrOpts.Cache.DefaultNamespaces = map[string]cache.Config{o.watchNamespace: {}}
	}
	mgr, err := ctrl.NewManager(restCfg, mgrOpts)
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	ctx := ctrl.SetupSignalHandler()
	if err := controllers.SetupIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		return fmt.Errorf("set up indexes: %w", err)
	}
	if err := retire.SetupIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		return fmt.Errorf("set up retirement indexes: %w", err)
	}
	if err := (&server.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("pluginserver-controller"),
		Options:  server.Options{ClusterDomain: o.clusterDomain, RetireGracePeriod: o.retireGracePeriod},
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up PluginServer controller: %w", err)
	}
	if err := (&retirement.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("pluginversion-retirement"),
		Options:  retirement.Options{GracePeriod: o.retireGracePeriod},
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up PluginVersion retirement controller: %w", err)
	}
	if err := (&controllers.PluginVersionReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("pluginversion-controller"),
		Options:  controllers.PluginVersionOptions{ClusterDomain: o.clusterDomain, ProbeInterval: o.probeInterval},
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up PluginVersion controller: %w", err)
	}
	metrics, err := controllers.NewInvocationMetrics(ctrlmetrics.Registry)
	if err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	if err := (&controllers.PluginInvocationReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("plugininvocation-controller"),
		Metrics:  metrics,
		Options: controllers.InvocationOptions{
			ClusterDomain:           o.clusterDomain,
			CallbackBaseURL:         o.callbackBaseURL,
			CallbackKey:             callbackKey,
			DefaultTTL:              o.defaultTTL,
			RetryBudget:             o.retryBudget,
			MaxConcurrentReconciles: o.concurrency,
		},
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up PluginInvocation controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add ready check: %w", err)
	}
	setupLog.Info("starting manager", "concurrency", o.concurrency, "qps", o.qps, "burst", o.burst)
	return mgr.Start(ctx)
}
