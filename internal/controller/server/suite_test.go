//go:build envtest

package server_test

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
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/retirement"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/server"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/version"
	"github.com/bkplugin/bk-plugin-operator/internal/retire"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	sdkserver "github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// The suite runs the PluginServer reconciler, the PluginVersion reconciler
// and the version retirement reconciler in one manager, with exactly the
// RBAC controller-gen generates, against a real kube-apiserver and etcd.
// envtest runs no kubelet, Deployment controller or garbage collector: specs
// set a Deployment's status as the Deployment controller would, and check
// owner references where the garbage collector would act on them.

var (
	testEnv   *envtest.Environment
	k8sClient client.Client
	suiteCtx  context.Context
	stopSuite context.CancelFunc

	// helloPod serves the hello example plugin: the pod behind every
	// server's Service, reached through the version reconciler's resolver.
	helloPod *httptest.Server
)

// gracePeriod is the manager's default retire grace period in this suite;
// specs of the grace period set shorter ones on the object.
const gracePeriod = 10 * time.Minute

func TestServer(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "PluginServer suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	suiteCtx, stopSuite = context.WithCancel(context.Background())

	root := filepath.Join("..", "..", "..")
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "start envtest; run with KUBEBUILDER_ASSETS=$(hack/setup-envtest.sh)")

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(bkv1.AddToScheme(scheme)).To(Succeed())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	helloPod = httptest.NewServer(sdkserver.Handler(helloplugin.Plugin()))

	// The manager runs with exactly the RBAC controller-gen generates.
	managerCfg, err := testenv.UserWithRole(suiteCtx, testEnv, k8sClient, filepath.Join(root, "config", "rbac", "role.yaml"), "bk-plugin-manager")
	Expect(err).NotTo(HaveOccurred())
	startManager(managerCfg, scheme)
})

// startManager runs the three reconcilers as cmd/manager wires them.
func startManager(cfg *rest.Config, scheme *runtime.Scheme) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Logger:  logf.Log,
		Cache:   cache.Options{ByObject: server.CacheByObject()},
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(versions.SetupIndexes(suiteCtx, mgr.GetFieldIndexer())).To(Succeed())
	Expect(retire.SetupIndexes(suiteCtx, mgr.GetFieldIndexer())).To(Succeed())
	Expect((&server.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("pluginserver-controller"),
		Options:  server.Options{RetireGracePeriod: gracePeriod},
	}).SetupWithManager(mgr)).To(Succeed())
	Expect((&retirement.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("pluginversion-retirement"),
		Options:  retirement.Options{GracePeriod: gracePeriod},
	}).SetupWithManager(mgr)).To(Succeed())
	Expect((&version.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("pluginversion-controller"),
		Options: version.Options{
			ProbeInterval:   2 * time.Second,
			MaxProbeBackoff: time.Second,
			// Every Service is the hello plugin pod on loopback.
			ResolveService: func(string, string, int32) string { return helloPod.URL },
		},
	}).SetupWithManager(mgr)).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(suiteCtx)).To(Succeed())
	}()
	Eventually(func() bool { return mgr.GetCache().WaitForCacheSync(suiteCtx) }).Should(BeTrue())
}

var _ = AfterSuite(func() {
	if stopSuite != nil {
		stopSuite()
	}
	if helloPod != nil {
		helloPod.Close()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
