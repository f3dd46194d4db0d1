// Package manager wires the bk-plugin-operator manager: it builds the
// controller-runtime manager, registers the field indexes and both
// reconcilers (PluginVersion and PluginInvocation) and runs them.
// cmd/manager only turns flags into Options.
package manager

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/callbackkey"
	"github.com/bkplugin/bk-plugin-operator/internal/canary"
	"github.com/bkplugin/bk-plugin-operator/internal/cmdutil"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/invocation"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/retirement"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/server"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/version"
	"github.com/bkplugin/bk-plugin-operator/internal/restmapping"
	"github.com/bkplugin/bk-plugin-operator/internal/retire"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	bkwebhook "github.com/bkplugin/bk-plugin-operator/internal/webhook"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/tracing"
)

// TracingServiceName is the manager's service.name in traces, unless
// OTEL_SERVICE_NAME says otherwise.
const TracingServiceName = "bk-plugin-manager"

// Options are the manager's options, as cmd/manager's flags give them.
type Options struct {
	// MetricsAddr serves Prometheus metrics; "0" disables it.
	MetricsAddr string
	// ProbeAddr serves /healthz and /readyz.
	ProbeAddr string
	// LeaderElect elects a leader among replicas, with its lease in
	// LeaderElectionNamespace ("" for the pod's).
	LeaderElect             bool
	LeaderElectionNamespace string
	// Namespaces are the namespaces the manager reconciles, and the only
	// ones its cache lists and watches; empty watches all, which needs
	// cluster-wide RBAC. The shipped config names them, and binds the
	// manager's role in each with a RoleBinding, so that its access to
	// Secrets stops at the namespaces it serves.
	Namespaces []string
	// MinPollInterval, MaxPollInterval, MaxCallbacksPerAnswer and
	// MaxPreparedCallbacks are as in invocation.Options.
	MinPollInterval       time.Duration
	MaxPollInterval       time.Duration
	MaxCallbacksPerAnswer int
	MaxPreparedCallbacks  int
	// CallbackTokenTTL is as in invocation.Options.
	CallbackTokenTTL time.Duration
	// QPS and Burst bound the client's requests to the API server.
	QPS   float64
	Burst int
	// Concurrency is how many PluginInvocations are reconciled at once.
	Concurrency int
	// MaxWorkersPerPlugin bounds the workers one plugin's invocations hold
	// at once (invocation.Options.MaxWorkersPerPlugin); zero means three
	// quarters of Concurrency.
	MaxWorkersPerPlugin int
	// RetryBudget, CallbackBaseURL and ClusterDomain are as in
	// invocation.Options.
	RetryBudget     time.Duration
	CallbackBaseURL string
	ClusterDomain   string
	// CallbackKeyFile holds the callback signing key; "" disables callbacks
	// unless CallbackKey names a Secret.
	CallbackKeyFile string
	// CallbackKey names the Secret the key is read from, or created in with
	// a random key, when CallbackKeyFile does not exist (its File is set
	// from CallbackKeyFile).
	CallbackKey callbackkey.Source
	// ExecuteTokenFile holds the token sent with every execute, the one
	// plugin pods are given in protocol.ExecuteTokenEnv; "" sends none.
	ExecuteTokenFile string
	// ProbeInterval is how often a Ready PluginVersion is probed again.
	ProbeInterval time.Duration
	// RetireGracePeriod bounds how long a deleted PluginVersion or
	// PluginServer waits for its live invocations, when it sets no
	// retireGracePeriodSeconds.
	RetireGracePeriod time.Duration
	// Archive is the history archive's DSN (sqlite:///path/file.db or
	// postgres://...); DefaultArchiveDSN when empty. It is opened in the
	// background: the manager reconciles live work while it is down.
	Archive string
	// KeepFinished is how long a finished invocation stays in the cluster
	// once archived (spec.ttlSecondsAfterFinished wins); DefaultKeepFinished
	// when zero.
	KeepFinished time.Duration
	// HistoryRetention is how long the archive keeps an invocation after it
	// finished; DefaultHistoryRetention when zero.
	HistoryRetention time.Duration
	// PprofAddr serves net/http/pprof when set.
	PprofAddr string
	// WebhookPort serves the PluginVersion admission webhook
	// (internal/webhook) over TLS on this port; 0 serves none, and
	// breaking versions are then marked Compatible=False instead.
	WebhookPort int
	// WebhookCertDir holds the webhook server's tls.crt and tls.key (from
	// cert-manager in config/overlays/webhook); controller-runtime's
	// default directory when empty.
	WebhookCertDir string
	// Config returns how to reach the API server; it is called after the
	// key file is read, so that a bad file is reported first.
	Config func() *rest.Config
	// Logger logs the setup.
	Logger logr.Logger
}

// The manager keeps a leader-election lease so that only one replica
// reconciles; each reconciler declares the rest of its RBAC above its
// Reconcile (internal/controller/invocation, internal/controller/version).
//
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update

// validate refuses bounds that make no sense, naming the flag.
func (o *Options) validate() error {
	switch {
	case o.MinPollInterval < 0:
		return fmt.Errorf("--min-poll-interval must not be negative, got %s", o.MinPollInterval)
	case o.MaxPollInterval < 0:
		return fmt.Errorf("--max-poll-interval must not be negative, got %s", o.MaxPollInterval)
	case o.MaxPollInterval > 0 && o.MinPollInterval > o.MaxPollInterval:
		return fmt.Errorf("--min-poll-interval (%s) must not exceed --max-poll-interval (%s)", o.MinPollInterval, o.MaxPollInterval)
	case o.CallbackTokenTTL < 0 || o.CallbackTokenTTL > protocol.DefaultCallbackTokenTTL:
		return fmt.Errorf("--callback-token-ttl must be between 0 and %s (the shim refuses tokens that live longer), got %s", protocol.DefaultCallbackTokenTTL, o.CallbackTokenTTL)
	case o.MaxCallbacksPerAnswer < 0 || o.MaxPreparedCallbacks < 0:
		return fmt.Errorf("--max-callbacks-per-answer and --max-callbacks-per-invocation must not be negative")
	case o.WebhookPort < 0 || o.WebhookPort > 65535:
		return fmt.Errorf("--webhook-port must be between 0 (no webhook) and 65535, got %d", o.WebhookPort)
	}
	return nil
}

// Run builds the manager and runs it until ctx ends.
func Run(ctx context.Context, o Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	setupLog := o.Logger
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := bkv1.AddToScheme(scheme); err != nil {
		return err
	}

	restCfg := o.Config()
	restCfg.QPS, restCfg.Burst = float32(o.QPS), o.Burst

	callbackKey, err := loadCallbackKey(ctx, restCfg, scheme, o)
	if err != nil {
		return err
	}
	if o.CallbackBaseURL == "" || len(callbackKey) == 0 {
		setupLog.Info("no --callback-base-url or callback key: plugins cannot prepare callbacks")
	}
	keys, err := followCallbackKey(callbackKey, o, setupLog)
	if err != nil {
		return err
	}
	executeToken, err := cmdutil.ExecuteToken(o.ExecuteTokenFile)
	if err != nil {
		return err
	}
	if executeToken == nil {
		setupLog.Info("no --execute-token-file: executes carry no token, and plugin pods that require one refuse them")
	}

	if o.Archive == "" {
		o.Archive = DefaultArchiveDSN
	}
	if o.KeepFinished <= 0 {
		o.KeepFinished = DefaultKeepFinished
	}
	if o.HistoryRetention <= 0 {
		o.HistoryRetention = DefaultHistoryRetention
	}
	archiveLog := o.Logger.WithName("archive")
	history, err := archive.OpenDeferred(ctx, o.Archive, archive.Options{}, archive.DeferredOptions{
		OnError: func(err error, retryIn time.Duration) {
			archiveLog.Error(err, "cannot open the history archive; finished invocations wait in the cluster", "retryIn", retryIn)
		},
		OnOpen: func() { archiveLog.Info("history archive open") },
	})
	if err != nil {
		return fmt.Errorf("--archive: %w", err)
	}
	defer history.Close()

	mgrOpts := ctrl.Options{
		Scheme: scheme,
		Metrics: metricsserver.Options{
			BindAddress: o.MetricsAddr,
			// HTTP/2 is off for the metrics server, as kubebuilder
			// recommends, against the HTTP/2 rapid-reset attacks.
			TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
		},
		HealthProbeBindAddress:  o.ProbeAddr,
		PprofBindAddress:        o.PprofAddr,
		LeaderElection:          o.LeaderElect,
		LeaderElectionID:        "bk-plugin-operator.bkplugin.io",
		LeaderElectionNamespace: o.LeaderElectionNamespace,
		// The manager stops reconciling as soon as it loses the lease, so a
		// new leader can start at once instead of waiting out the lease.
		LeaderElectionReleaseOnCancel: true,
	}
	// The cache holds every invocation; managed fields are a third of a
	// small one's size and the manager never reads them (its writes are
	// updates and merge patches, which keep them on the server).
	// Deployments, Services and autoscalers are cached only when a
	// PluginServer owns them.
	if o.WebhookPort > 0 {
		mgrOpts.WebhookServer = webhook.NewServer(webhook.Options{
			Port:    o.WebhookPort,
			CertDir: o.WebhookCertDir,
			TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
		})
	}
	mgrOpts.Cache = cache.Options{DefaultTransform: cache.TransformStripManagedFields(), ByObject: server.CacheByObject()}
	// Every cached read of a namespace's objects asks the mapper for the
	// kind's scope; a memoized mapper answers from memory (restmapping).
	mgrOpts.MapperProvider = restmapping.NewDynamic
	if len(o.Namespaces) > 0 {
		mgrOpts.Cache.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range o.Namespaces {
			mgrOpts.Cache.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	// Traces go where the OTEL_* environment says; nowhere by default.
	traces, flush, err := tracing.Setup(ctx, tracing.Options{ServiceName: TracingServiceName})
	if err != nil {
		return err
	}
	defer func() {
		if err := flush.AtExit(ctx); err != nil {
			setupLog.Error(err, "flushing traces")
		}
	}()
	if traces.TracerProvider != nil {
		setupLog.Info("exporting traces as the OTEL_* environment says")
	}
	mgr, err := ctrl.NewManager(restCfg, mgrOpts)
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if err := versions.SetupIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		return fmt.Errorf("set up indexes: %w", err)
	}
	if err := retire.SetupIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		return fmt.Errorf("set up retirement indexes: %w", err)
	}
	if err := (&server.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("pluginserver-controller"),
		Options:  server.Options{ClusterDomain: o.ClusterDomain, RetireGracePeriod: o.RetireGracePeriod},
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up PluginServer controller: %w", err)
	}
	if err := (&retirement.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("pluginversion-retirement"),
		Options:  retirement.Options{GracePeriod: o.RetireGracePeriod},
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up PluginVersion retirement controller: %w", err)
	}
	if o.WebhookPort > 0 {
		if err := (&bkwebhook.PluginVersionValidator{}).SetupWithManager(mgr); err != nil {
			return fmt.Errorf("set up PluginVersion webhook: %w", err)
		}
	}
	// The invocation reconciler counts outcomes per version into outcomes;
	// the version reconciler reads them to roll a canary back.
	outcomes := canary.NewWindow()
	// An execute that finds a plugin pod dead has its version probed at
	// once, so that Ready turns False within seconds (versions.Reprobe).
	reprobe := versions.NewReprobe(versions.DefaultReprobeGap)
	if err := (&version.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("pluginversion-controller"),
		Options:  version.Options{ClusterDomain: o.ClusterDomain, ProbeInterval: o.ProbeInterval, Outcomes: outcomes, Reprobe: reprobe},
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up PluginVersion controller: %w", err)
	}
	metrics, err := invocation.NewMetrics(ctrlmetrics.Registry)
	if err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	if err := (&invocation.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("plugininvocation-controller"),
		Metrics:  metrics,
		Options: invocation.Options{
			ClusterDomain:           o.ClusterDomain,
			CallbackBaseURL:         o.CallbackBaseURL,
			CallbackKey:             keys,
			ExecuteToken:            executeToken,
			Archive:                 history,
			KeepFinished:            o.KeepFinished,
			RetryBudget:             o.RetryBudget,
			CallbackTokenTTL:        o.CallbackTokenTTL,
			MinPollInterval:         o.MinPollInterval,
			MaxPollInterval:         o.MaxPollInterval,
			MaxCallbacksPerAnswer:   o.MaxCallbacksPerAnswer,
			MaxPreparedCallbacks:    o.MaxPreparedCallbacks,
			MaxConcurrentReconciles: o.Concurrency,
			MaxWorkersPerPlugin:     o.MaxWorkersPerPlugin,
			Outcomes:                outcomes,
			Tracing:                 traces,
			Reprobe:                 reprobe,
		},
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up PluginInvocation controller: %w", err)
	}
	ret, err := newRetention(history, o.HistoryRetention, retentionInterval(o.HistoryRetention), archiveLog, ctrlmetrics.Registry)
	if err != nil {
		return fmt.Errorf("register archive metrics: %w", err)
	}
	if err := mgr.Add(ret); err != nil {
		return fmt.Errorf("add history retention: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add ready check: %w", err)
	}
	setupLog.Info("starting manager", "namespaces", o.Namespaces, "concurrency", o.Concurrency, "qps", o.QPS, "burst", o.Burst,
		"keepFinished", o.KeepFinished, "historyRetention", o.HistoryRetention)
	return mgr.Start(ctx)
}

// followCallbackKey returns the provider of the key each execute is signed
// with: a callbackkey.Ring following --callback-key-file, so that a key
// rotated in the Secret is used within seconds of kubelet updating the file,
// with no restart (key, read at start from the file or the Secret, is the
// one used until the file exists). Without a file the key never changes.
func followCallbackKey(key []byte, o Options, log logr.Logger) (callbackkey.Provider, error) {
	switch {
	case len(key) == 0:
		return nil, nil
	case o.CallbackKeyFile == "":
		return callbackkey.Static(key), nil
	}
	ring, err := callbackkey.NewRing(callbackkey.RingOptions{File: o.CallbackKeyFile, Initial: key, Log: log.WithName("callback-key")})
	if err != nil {
		return nil, fmt.Errorf("follow the callback key: %w", err)
	}
	return ring, nil
}

// loadCallbackKey reads the callback key from its file, or, when the file is
// absent and a Secret is named, from that Secret, creating it at the first
// start so that a fresh install needs no key made by hand.
func loadCallbackKey(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, o Options) ([]byte, error) {
	src := o.CallbackKey
	src.File = o.CallbackKeyFile
	if src.Secret == "" {
		return cmdutil.ReadCallbackKey(src.File)
	}
	direct, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("create client for the callback key: %w", err)
	}
	keyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return callbackkey.Load(keyCtx, direct, src)
}
