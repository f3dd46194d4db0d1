package testenv

import (
	"context"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/bkplugin/bk-plugin-operator/internal/callbackkey"
	"github.com/bkplugin/bk-plugin-operator/internal/canary"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/invocation"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/version"
	"github.com/bkplugin/bk-plugin-operator/internal/retire"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	bkwebhook "github.com/bkplugin/bk-plugin-operator/internal/webhook"
)

// ManagerOptions say what a suite's manager runs.
type ManagerOptions struct {
	// Config is the manager's user (see Suite.UserWithRole); nil: the admin.
	Config *rest.Config
	// Version configures the PluginVersion reconciler, which always runs.
	Version version.Options
	// Invocation, when set, runs the PluginInvocation reconciler too.
	Invocation *invocation.Options
	// Webhook, when set, serves the PluginVersion admission webhook where
	// the suite's control plane calls it (Options.WebhookPaths).
	Webhook *envtest.WebhookInstallOptions
	// Restartable lets the process start managers more than once: the
	// controller name check is for metrics names, which these managers do
	// not serve.
	Restartable bool
}

// VersionOptions probe fast and back off little, so that versions become
// Ready within seconds, and judge canaries often.
func VersionOptions() version.Options {
	return version.Options{ProbeInterval: 2 * time.Second, MaxProbeBackoff: time.Second, CanaryCheckInterval: 200 * time.Millisecond}
}

// ExecuteToken is the execute token the suites' managers send
// (InvocationOptions), as the manager's --execute-token-file does: plugin
// pods a suite serves with server.New pass it as Options.ExecuteToken.
const ExecuteToken = "testenv-execute-token"

// InvocationOptions retry fast, so that failure cases end within seconds;
// callbacks go to callbackBaseURL, signed by key; every execute carries
// ExecuteToken.
func InvocationOptions(callbackBaseURL string, key []byte) invocation.Options {
	return invocation.Options{
		ExecuteToken:            func() string { return ExecuteToken },
		CallbackBaseURL:         callbackBaseURL,
		CallbackKey:             callbackkey.Static(key),
		RetryBudget:             3 * time.Second,
		RetryInitialInterval:    100 * time.Millisecond,
		RetryMaxInterval:        500 * time.Millisecond,
		MaxConcurrentReconciles: 4,
	}
}

// StartManager starts a manager running the reconcilers opts names and
// returns once its cache has synced. stop ends it and waits until it has.
func (s *Suite) StartManager(opts ManagerOptions) (stop func()) {
	ginkgo.GinkgoHelper()
	cfg := opts.Config
	if cfg == nil {
		cfg = s.Config
	}
	mgrOpts := ctrl.Options{
		Scheme:  s.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Logger:  logf.Log,
	}
	if opts.Restartable {
		mgrOpts.Controller = config.Controller{SkipNameValidation: ptr.To(true)}
	}
	// As the manager does, both reconcilers share one outcome window, for
	// canary rollbacks.
	if opts.Invocation != nil && opts.Invocation.Outcomes == nil && opts.Version.Outcomes == nil {
		w := canary.NewWindow()
		inv := *opts.Invocation
		inv.Outcomes, opts.Version.Outcomes = w, w
		opts.Invocation = &inv
	}
	if opts.Webhook != nil {
		mgrOpts.WebhookServer = webhook.NewServer(webhook.Options{
			Host:    opts.Webhook.LocalServingHost,
			Port:    opts.Webhook.LocalServingPort,
			CertDir: opts.Webhook.LocalServingCertDir,
		})
	}
	mgr, err := ctrl.NewManager(cfg, mgrOpts)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	if opts.Webhook != nil {
		gomega.Expect((&bkwebhook.PluginVersionValidator{}).SetupWithManager(mgr)).To(gomega.Succeed())
	}
	gomega.Expect(versions.SetupIndexes(s.Ctx, mgr.GetFieldIndexer())).To(gomega.Succeed())
	gomega.Expect(retire.SetupIndexes(s.Ctx, mgr.GetFieldIndexer())).To(gomega.Succeed())
	if opts.Invocation != nil && opts.Invocation.Reprobe == nil && opts.Version.Reprobe == nil {
		// As in the manager: executes that find a pod dead have its version
		// probed at once.
		inv := *opts.Invocation
		inv.Reprobe = versions.NewReprobe(versions.DefaultReprobeGap)
		opts.Invocation, opts.Version.Reprobe = &inv, inv.Reprobe
	}
	gomega.Expect((&version.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("pluginversion-controller"),
		Options:  opts.Version,
	}).SetupWithManager(mgr)).To(gomega.Succeed())
	if opts.Invocation != nil {
		gomega.Expect((&invocation.Reconciler{
			Client:   mgr.GetClient(),
			Recorder: mgr.GetEventRecorder("plugininvocation-controller"),
			Options:  *opts.Invocation,
		}).SetupWithManager(mgr)).To(gomega.Succeed())
	}

	ctx, cancel := context.WithCancel(s.Ctx)
	done := make(chan struct{})
	go func() {
		defer ginkgo.GinkgoRecover()
		defer close(done)
		gomega.Expect(mgr.Start(ctx)).To(gomega.Succeed())
	}()
	gomega.Eventually(func() bool { return mgr.GetCache().WaitForCacheSync(ctx) }).Should(gomega.BeTrue())
	return func() {
		ginkgo.GinkgoHelper()
		cancel()
		gomega.Eventually(done, EventuallyTimeout).Should(gomega.BeClosed())
	}
}
