//go:build envtest

package invocation_test

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/invocation"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/version"
	"github.com/bkplugin/bk-plugin-operator/internal/retire"
	"github.com/bkplugin/bk-plugin-operator/internal/syncbuf"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/callbacker/callbackerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/poller/pollerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// The suite runs the reconcilers in a real manager against a real
// kube-apiserver and etcd, calling the SDK's example plugins served over real
// HTTP, as a cluster would.

var (
	testEnv *envtest.Environment
	cfg     *rest.Config
	// managerCfg is a user bound only to the manager's generated ClusterRole.
	managerCfg *rest.Config
	k8sClient  client.Client
	scheme     *runtime.Scheme
	suiteCtx   context.Context
	stopSuite  context.CancelFunc

	// Example plugin pods, served on loopback.
	helloPod, pollerPod, callbackerPod *httptest.Server

	// callbackKey is the master key the manager derives callback keys from.
	callbackKey = []byte("suite-callback-key-0123456789abcdef")

	// managerLogs holds everything the managers logged, so that specs can
	// check that no sensitive value reached a log line.
	managerLogs = &syncbuf.Buffer{}

	// suiteArchive is the history archive the suite's manager writes to: a
	// real SQLite file in suiteArchiveDir.
	suiteArchive    archive.Archive
	suiteArchiveDir string

	// manager is the running manager; specs that restart it use startManager.
	stopManager context.CancelFunc
	managerDone chan struct{}
)

// Timeouts for Eventually: generous, because CI machines are slow and
// noisy; specs never sleep.
const (
	eventuallyTimeout = 30 * time.Second
	pollEvery         = 50 * time.Millisecond
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller suite")
}

// invocationOptions are the options the suite's manager runs with: fast
// retries so that failure cases end within seconds.
func invocationOptions() invocation.Options {
	return invocation.Options{
		CallbackBaseURL:         "http://shim.test:8080",
		CallbackKey:             callbackKey,
		RetryBudget:             3 * time.Second,
		RetryInitialInterval:    100 * time.Millisecond,
		RetryMaxInterval:        500 * time.Millisecond,
		MaxConcurrentReconciles: 4,
		Archive:                 suiteArchive,
	}
}

func versionOptions() version.Options {
	return version.Options{
		ProbeInterval:   2 * time.Second,
		MaxProbeBackoff: time.Second,
	}
}

// startManager starts a manager running both reconcilers and returns once it
// has started; stopManager stops it and waits until it has.
func startManager(invOpts invocation.Options) {
	mgr, err := ctrl.NewManager(managerCfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Logger:  logf.Log,
		// Specs restart the manager in one process; the check is for
		// metrics names, which these managers do not serve.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(versions.SetupIndexes(suiteCtx, mgr.GetFieldIndexer())).To(Succeed())
	Expect(retire.SetupIndexes(suiteCtx, mgr.GetFieldIndexer())).To(Succeed())
	Expect((&version.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("pluginversion-controller"),
		Options:  versionOptions(),
	}).SetupWithManager(mgr)).To(Succeed())
	Expect((&invocation.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("plugininvocation-controller"),
		Options:  invOpts,
	}).SetupWithManager(mgr)).To(Succeed())

	ctx, cancel := context.WithCancel(suiteCtx)
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	Eventually(func() bool { return mgr.GetCache().WaitForCacheSync(ctx) }).Should(BeTrue())
	stopManager, managerDone = cancel, done
}

func stopRunningManager() {
	stopManager()
	Eventually(managerDone, eventuallyTimeout).Should(BeClosed())
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(io.MultiWriter(GinkgoWriter, managerLogs)), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(eventuallyTimeout)
	SetDefaultEventuallyPollingInterval(pollEvery)
	suiteCtx, stopSuite = context.WithCancel(context.Background())

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "start envtest; run 'make test' so that KUBEBUILDER_ASSETS is provisioned")

	scheme = runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(bkv1.AddToScheme(scheme)).To(Succeed())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	helloPod = httptest.NewServer(server.Handler(helloplugin.Plugin()))
	pollerPod = httptest.NewServer(server.Handler(pollerplugin.Plugin()))
	callbackerPod = httptest.NewServer(server.Handler(callbackerplugin.Plugin()))

	// The manager runs with exactly the RBAC controller-gen generates for
	// it, so a missing marker fails here and not in a cluster.
	suiteArchiveDir, err = os.MkdirTemp("", "bkplugin-invocation-suite-")
	Expect(err).NotTo(HaveOccurred())
	suiteArchive, err = archive.Open(suiteCtx, "sqlite://"+filepath.Join(suiteArchiveDir, "history.db"), archive.Options{})
	Expect(err).NotTo(HaveOccurred())
	managerCfg, err = testenv.UserWithRole(suiteCtx, testEnv, k8sClient, filepath.Join("..", "..", "..", "config", "rbac", "role.yaml"), "bk-plugin-manager")
	Expect(err).NotTo(HaveOccurred())
	startManager(invocationOptions())
})

var _ = AfterSuite(func() {
	if stopManager != nil {
		stopRunningManager()
	}
	stopSuite()
	if suiteArchive != nil {
		Expect(suiteArchive.Close()).To(Succeed())
		Expect(os.RemoveAll(suiteArchiveDir)).To(Succeed())
	}
	if pg != nil {
		Expect(pg.Stop()).To(Succeed())
	}
	for _, s := range []*httptest.Server{helloPod, pollerPod, callbackerPod} {
		if s != nil {
			s.Close()
		}
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
