//go:build envtest

package version_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/version"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// The suite runs the PluginVersion reconciler alone in a real manager
// against a real kube-apiserver and etcd, probing the SDK's hello plugin
// served over real HTTP, as a cluster would. The PluginInvocation suite
// (internal/controller/invocation) runs both reconcilers together.

var (
	testEnv   *envtest.Environment
	k8sClient client.Client
	suiteCtx  context.Context
	stopSuite context.CancelFunc
	// helloPod serves the hello example plugin on loopback.
	helloPod *httptest.Server
	// managerDone is closed once the manager has stopped.
	managerDone chan struct{}
)

// Timeouts for Eventually: generous, because CI machines are slow and
// noisy; specs never sleep.
const (
	eventuallyTimeout = 30 * time.Second
	pollEvery         = 50 * time.Millisecond
)

func TestVersionController(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "PluginVersion controller suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(eventuallyTimeout)
	SetDefaultEventuallyPollingInterval(pollEvery)
	suiteCtx, stopSuite = context.WithCancel(context.Background())

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "start envtest; run 'make test' so that KUBEBUILDER_ASSETS is provisioned")

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(bkv1.AddToScheme(scheme)).To(Succeed())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	helloPod = httptest.NewServer(server.Handler(helloplugin.Plugin()))

	// The manager runs with exactly the RBAC controller-gen generates for
	// it, so a missing marker fails here and not in a cluster.
	managerCfg, err := testenv.UserWithRole(suiteCtx, testEnv, k8sClient, filepath.Join("..", "..", "..", "config", "rbac", "role.yaml"), "bk-plugin-manager")
	Expect(err).NotTo(HaveOccurred())
	mgr, err := ctrl.NewManager(managerCfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Logger:  logf.Log,
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(versions.SetupIndexes(suiteCtx, mgr.GetFieldIndexer())).To(Succeed())
	Expect((&version.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("pluginversion-controller"),
		Options:  version.Options{ProbeInterval: 2 * time.Second, MaxProbeBackoff: time.Second},
	}).SetupWithManager(mgr)).To(Succeed())
	managerDone = make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(managerDone)
		Expect(mgr.Start(suiteCtx)).To(Succeed())
	}()
	Eventually(func() bool { return mgr.GetCache().WaitForCacheSync(suiteCtx) }).Should(BeTrue())
})

var _ = AfterSuite(func() {
	if stopSuite != nil {
		stopSuite()
	}
	if managerDone != nil {
		Eventually(managerDone, eventuallyTimeout).Should(BeClosed())
	}
	if helloPod != nil {
		helloPod.Close()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
