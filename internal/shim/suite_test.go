//go:build envtest

package shim_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/invocation"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/version"
	"github.com/bkplugin/bk-plugin-operator/internal/shim"
	"github.com/bkplugin/bk-plugin-operator/internal/syncbuf"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/callbacker/callbackerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/deployer/deployerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/formapi/formapiplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/notifier/notifierplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/poller/pollerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// The suite runs the shim against a real kube-apiserver and etcd, next to a
// real manager that executes the SDK's example plugins served over real
// HTTP, and calls the shim through sdk/client as a platform would.

const (
	eventuallyTimeout = 30 * time.Second
	pollEvery         = 50 * time.Millisecond
	// invokeTimeout is short so that the timeout spec ends quickly; every
	// example plugin's first execute takes milliseconds.
	invokeTimeout = 3 * time.Second
	maxBodyBytes  = 64 << 10
	namespace     = "shim-e2e"
)

var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	suiteCtx  context.Context
	stopSuite context.CancelFunc

	// callbackKey is the manager's master key; previousKey is the one
	// before a rotation, which the shim still accepts.
	callbackKey = []byte("shim-suite-callback-key-0123456789")
	previousKey = []byte("shim-suite-previous-key-9876543210")

	shimURL  string
	registry *prometheus.Registry
	shimDone chan error
	stopShim context.CancelFunc

	// gate holds the slow plugin's executes until a spec opens it.
	gate *executeGate

	pods []*httptest.Server

	// allLogs holds every line the shim, the manager and the plugin pods
	// logged, so that specs can check no sensitive value reached a log.
	allLogs = &syncbuf.Buffer{}
)

func TestShim(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Shim suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(io.MultiWriter(GinkgoWriter, allLogs)), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(eventuallyTimeout)
	SetDefaultEventuallyPollingInterval(pollEvery)
	suiteCtx, stopSuite = context.WithCancel(context.Background())

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "start envtest; run 'make test' so that KUBEBUILDER_ASSETS is provisioned")

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(bkv1.AddToScheme(scheme)).To(Succeed())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	Expect(k8sClient.Create(suiteCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())

	// The shim first: the manager builds callback URLs under its address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	shimURL = "http://" + ln.Addr().String()
	registry = prometheus.NewRegistry()
	// The shim runs with exactly the RBAC controller-gen generates for it,
	// so a missing marker fails here and not in a cluster.
	shimCfg, err := testenv.UserWithRole(suiteCtx, testEnv, k8sClient, filepath.Join("..", "..", "config", "rbac", "shim", "role.yaml"), "bk-plugin-shim")
	Expect(err).NotTo(HaveOccurred())
	srv, err := shim.New(shim.Options{
		Config:               shimCfg,
		Namespace:            namespace,
		CallbackKey:          callbackKey,
		PreviousCallbackKeys: [][]byte{previousKey},
		InvokeTimeout:        invokeTimeout,
		MaxBodyBytes:         maxBodyBytes,
		Registry:             registry,
		Logger:               logf.Log.WithName("shim"),
		Listener:             ln,
		ShutdownTimeout:      5 * time.Second,
	})
	Expect(err).NotTo(HaveOccurred())
	shimCtx, cancel := context.WithCancel(suiteCtx)
	stopShim, shimDone = cancel, make(chan error, 1)
	go func() { shimDone <- srv.Run(shimCtx) }()
	Eventually(func() int { return httpStatus(shimURL + shim.ReadyzPath) }).Should(Equal(http.StatusOK))

	startManager()

	gate = newExecuteGate()
	hello := serve(server.Handler(helloplugin.Plugin()))
	poller := serve(server.Handler(pollerplugin.Plugin()))
	callbacker := serve(server.Handler(callbackerplugin.Plugin()))
	scoped := serve(server.Handler(scopedPlugin()))
	slow := serve(gate.wrap(server.Handler(slowPlugin())))
	deployer := serve(pluginPod(deployerplugin.Plugin()))
	keeper := serve(pluginPod(keeperPlugin()))
	formapi := serve(server.Handler(formapiplugin.Plugin()))
	notifier := serve(server.Handler(notifierplugin.Plugin()))
	stopper := serve(server.Handler(stopperPlugin()))
	var all []bkv1.PluginVersion
	all = append(all, registerVersions(helloplugin.Plugin(), hello.URL)...)
	all = append(all, registerVersions(pollerplugin.Plugin(), poller.URL)...)
	all = append(all, registerVersions(callbackerplugin.Plugin(), callbacker.URL)...)
	all = append(all, registerVersions(scopedPlugin(), scoped.URL)...)
	all = append(all, registerVersions(slowPlugin(), slow.URL)...)
	all = append(all, registerVersions(deployerplugin.Plugin(), deployer.URL)...)
	all = append(all, registerVersions(keeperPlugin(), keeper.URL)...)
	all = append(all, registerVersions(formapiplugin.Plugin(), formapi.URL)...)
	all = append(all, registerVersions(notifierplugin.Plugin(), notifier.URL)...)
	all = append(all, registerVersions(stopperPlugin(), stopper.URL)...)
	waitReady(all)
})

var _ = AfterSuite(func() {
	if gate != nil {
		gate.open()
	}
	if stopShim != nil {
		stopShim()
		Eventually(shimDone, eventuallyTimeout).Should(Receive(BeNil()))
	}
	stopSuite()
	for _, p := range pods {
		p.Close()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// startManager runs both reconcilers in a manager for the rest of the suite.
func startManager() {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  k8sClient.Scheme(),
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
	Expect((&invocation.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("plugininvocation-controller"),
		Options: invocation.Options{
			CallbackBaseURL:         shimURL,
			CallbackKey:             callbackKey,
			RetryBudget:             3 * time.Second,
			RetryInitialInterval:    100 * time.Millisecond,
			RetryMaxInterval:        500 * time.Millisecond,
			MaxConcurrentReconciles: 4,
			Archive:                 managerArchive(),
		},
	}).SetupWithManager(mgr)).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(suiteCtx)).To(Succeed())
	}()
	Eventually(func() bool { return mgr.GetCache().WaitForCacheSync(suiteCtx) }).Should(BeTrue())
}

func serve(h http.Handler) *httptest.Server {
	s := httptest.NewServer(h)
	pods = append(pods, s)
	return s
}

func httpStatus(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// executeGate holds requests to a plugin pod's execute path until opened.
type executeGate struct{ ch chan struct{} }

func newExecuteGate() *executeGate { return &executeGate{ch: make(chan struct{})} }

func (g *executeGate) open() {
	select {
	case <-g.ch:
	default:
		close(g.ch)
	}
}

func (g *executeGate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/bk_plugin/execute/") {
			select {
			case <-g.ch:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
