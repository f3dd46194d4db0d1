//go:build envtest

package shim_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/invocation"
	"github.com/bkplugin/bk-plugin-operator/internal/shim"
	"github.com/bkplugin/bk-plugin-operator/internal/syncbuf"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/callbacker/callbackerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/deployer/deployerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/formapi/formapiplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/notifier/notifierplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/poller/pollerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
	"github.com/bkplugin/bk-plugin-operator/sdk/tracing"
)

// The suite runs the shim against a real kube-apiserver and etcd, next to a
// real manager that executes the SDK's example plugins served over real
// HTTP, and calls the shim through sdk/client as a platform would.

const (
	// invokeTimeout is short so that the timeout spec ends quickly; every
	// example plugin's first execute takes milliseconds.
	invokeTimeout = 3 * time.Second
	maxBodyBytes  = 64 << 10
	// keepFinished is the manager's --keep-finished in the suite.
	keepFinished = 15 * time.Second
	namespace    = "shim-e2e"
)

var (
	suite     *testenv.Suite
	cfg       *rest.Config
	k8sClient client.Client
	suiteCtx  context.Context
	// stopManager stops the manager that runs both reconcilers.
	stopManager func()

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

	// historyArchive is the archive the shim reads finished invocations
	// from: a real SQLite file.
	historyArchive archive.Archive

	// shimInvocationGets counts the suite shim's GETs of single
	// PluginInvocations at the API server (its client's transport).
	shimInvocationGets atomic.Int64

	// allLogs holds every line the shim, the manager and the plugin pods
	// logged, so that specs can check no sensitive value reached a log.
	allLogs = &syncbuf.Buffer{}

	// spans receives every span the shim, the manager and the plugin pods
	// of pluginPod record (tracing_test.go), through traces.
	spans  = tracetest.NewInMemoryExporter()
	traces = tracing.Tracing{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))}
)

// syncInvoke is the suite shim's --sync-invoke, from
// BKPLUGIN_TEST_SYNC_INVOKE (direct when unset).
var syncInvoke = testenv.SyncInvokeMode()

// directMode reports whether the suite's shim makes first executes itself.
func directMode() bool { return syncInvoke == shim.SyncInvokeDirect }

func TestShim(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Shim suite")
}

var _ = BeforeSuite(func() {
	suite = testenv.Start(testenv.Options{Root: filepath.Join("..", ".."), Log: allLogs})
	cfg, k8sClient, suiteCtx = suite.Config, suite.Client, suite.Ctx
	Expect(k8sClient.Create(suiteCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())

	// The shim first: the manager builds callback URLs under its address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	shimURL = "http://" + ln.Addr().String()
	registry = prometheus.NewRegistry()
	historyArchive, err = archive.Open(suiteCtx, "sqlite://"+filepath.Join(GinkgoT().TempDir(), "history.db"), archive.Options{})
	Expect(err).NotTo(HaveOccurred())
	// The shim runs with exactly the RBAC controller-gen generates for it,
	// so a missing marker fails here and not in a cluster.
	shimConfig := suite.UserWithRole(filepath.Join("config", "rbac", "shim", "role.yaml"), "bk-plugin-shim")
	shimConfig.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/plugininvocations/") {
				shimInvocationGets.Add(1)
			}
			return rt.RoundTrip(req)
		})
	})
	srv, err := shim.New(shim.Options{
		Config:               shimConfig,
		Namespace:            namespace,
		CallbackKey:          callbackKey,
		PreviousCallbackKeys: [][]byte{previousKey},
		InvokeTimeout:        invokeTimeout,
		MaxBodyBytes:         maxBodyBytes,
		Registry:             registry,
		Logger:               logf.Log.WithName("shim"),
		Listener:             ln,
		ShutdownTimeout:      5 * time.Second,
		// The suite's main shim is the dev mode: callers name their app in
		// X-Bkplugin-App-Code. trust_test.go runs one with the shipped
		// defaults, where only verified credentials count.
		TrustIdentityHeaders: true,
		Archive:              historyArchive,
		// Both modes run every spec: BKPLUGIN_TEST_SYNC_INVOKE=cluster
		// (make test runs the suite once more that way) keeps every
		// invoke a PluginInvocation, as before the direct path.
		SyncInvoke:      syncInvoke,
		CallbackBaseURL: shimURL,
		Tracing:         traces,
	})
	Expect(err).NotTo(HaveOccurred())
	shimCtx, cancel := context.WithCancel(suiteCtx)
	stopShim, shimDone = cancel, make(chan error, 1)
	go func() { shimDone <- srv.Run(shimCtx) }()
	Eventually(func() int { return httpStatus(shimURL + shim.ReadyzPath) }).Should(Equal(http.StatusOK))

	// Both reconcilers run for the rest of the suite.
	stopManager = suite.StartManager(testenv.ManagerOptions{
		Version:    testenv.VersionOptions(),
		Invocation: ptr.To(invocationOptions()),
	})

	gate = newExecuteGate()
	hello := serve(server.Handler(helloplugin.Plugin()))
	poller := serve(pluginPod(pollerplugin.Plugin()))
	callbacker := serve(server.Handler(callbackerplugin.Plugin()))
	scoped := serve(server.Handler(scopedPlugin()))
	slow := serve(gate.wrap(server.Handler(slowPlugin())))
	deployer := serve(pluginPod(deployerplugin.Plugin()))
	keeper := serve(pluginPod(keeperPlugin()))
	formapi := serve(server.Handler(formapiplugin.Plugin()))
	notifier := serve(server.Handler(notifierplugin.Plugin()))
	stopper := serve(server.Handler(stopperPlugin()))
	secondTry := serve(server.Handler(secondTryPlugin()))
	var all []bkv1.PluginVersion
	all = append(all, suite.RegisterVersions(namespace, helloplugin.Plugin(), hello.URL)...)
	all = append(all, suite.RegisterVersions(namespace, pollerplugin.Plugin(), poller.URL)...)
	all = append(all, suite.RegisterVersions(namespace, callbackerplugin.Plugin(), callbacker.URL)...)
	all = append(all, suite.RegisterVersions(namespace, scopedPlugin(), scoped.URL)...)
	all = append(all, suite.RegisterVersions(namespace, slowPlugin(), slow.URL)...)
	all = append(all, suite.RegisterVersions(namespace, deployerplugin.Plugin(), deployer.URL)...)
	all = append(all, suite.RegisterVersions(namespace, keeperPlugin(), keeper.URL)...)
	all = append(all, suite.RegisterVersions(namespace, formapiplugin.Plugin(), formapi.URL)...)
	all = append(all, suite.RegisterVersions(namespace, notifierplugin.Plugin(), notifier.URL)...)
	all = append(all, suite.RegisterVersions(namespace, stopperPlugin(), stopper.URL)...)
	all = append(all, suite.RegisterVersions(namespace, secondTryPlugin(), secondTry.URL)...)
	suite.WaitReady(all)
})

var _ = AfterSuite(func() {
	if gate != nil {
		gate.open()
	}
	if stopShim != nil {
		stopShim()
		Eventually(shimDone, testenv.EventuallyTimeout).Should(Receive(BeNil()))
	}
	if stopManager != nil {
		stopManager()
	}
	if historyArchive != nil {
		Expect(historyArchive.Close()).To(Succeed())
	}
	for _, p := range pods {
		p.Close()
	}
	suite.Stop()
})

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

// invocationOptions are the suite manager's: callbacks to the shim, the
// history archive of managerArchive.
func invocationOptions() invocation.Options {
	opts := testenv.InvocationOptions(shimURL, callbackKey)
	// The archive the shim reads through to; finished invocations leave
	// the cluster soon enough for a spec to wait for it, late enough for
	// the others to read them first.
	opts.Archive = historyArchive
	opts.KeepFinished = keepFinished
	opts.Tracing = traces
	return opts
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

// roundTripFunc is an http.RoundTripper of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip implements http.RoundTripper.
func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
