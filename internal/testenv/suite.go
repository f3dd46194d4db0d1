package testenv

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

// Timeouts for Eventually: generous, because CI machines are slow and
// noisy; specs never sleep.
const (
	EventuallyTimeout = 30 * time.Second
	PollEvery         = 50 * time.Millisecond
)

// Options says how a suite's control plane starts.
type Options struct {
	// Root is the repository root, relative to the test's package
	// ("../.."): the CRDs and the generated RBAC are read below it.
	Root string
	// Log, when set, receives every log line besides ginkgo.GinkgoWriter.
	Log io.Writer
	// WebhookPaths, relative to Root, are webhook configurations
	// (config/webhook/manifests.yaml) the control plane installs, calling
	// a local server (ManagerOptions.Webhook: Env.WebhookInstallOptions).
	WebhookPaths []string
}

// Suite is one Ginkgo suite's control plane: a real kube-apiserver and etcd
// with the repository's CRDs, and an admin client of it. Its methods are
// Ginkgo helpers: they fail the spec that calls them.
type Suite struct {
	// Env is the running envtest environment.
	Env *envtest.Environment
	// Config is the admin's config.
	Config *rest.Config
	// Scheme holds client-go's types and the API's.
	Scheme *runtime.Scheme
	// Client is the admin's client.
	Client client.Client
	// Ctx lives until Stop.
	Ctx context.Context

	root   string
	cancel context.CancelFunc
	seq    atomic.Int64
}

// Start sets the suite's logger and Eventually defaults and starts the
// control plane; call it in BeforeSuite.
func Start(opts Options) *Suite {
	ginkgo.GinkgoHelper()
	var w io.Writer = ginkgo.GinkgoWriter
	if opts.Log != nil {
		w = io.MultiWriter(ginkgo.GinkgoWriter, opts.Log)
	}
	logf.SetLogger(zap.New(zap.WriteTo(w), zap.UseDevMode(true)))
	gomega.SetDefaultEventuallyTimeout(EventuallyTimeout)
	gomega.SetDefaultEventuallyPollingInterval(PollEvery)

	s := &Suite{root: opts.Root}
	s.Ctx, s.cancel = context.WithCancel(context.Background())
	s.Env = &envtest.Environment{
		CRDDirectoryPaths:     []string{s.Path("config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	for _, p := range opts.WebhookPaths {
		s.Env.WebhookInstallOptions.Paths = append(s.Env.WebhookInstallOptions.Paths, s.Path(p))
	}
	var err error
	s.Config, err = s.Env.Start()
	gomega.Expect(err).NotTo(gomega.HaveOccurred(), "start envtest; run 'make test' so that KUBEBUILDER_ASSETS is provisioned")

	s.Scheme = runtime.NewScheme()
	gomega.Expect(clientgoscheme.AddToScheme(s.Scheme)).To(gomega.Succeed())
	gomega.Expect(bkv1.AddToScheme(s.Scheme)).To(gomega.Succeed())
	s.Client, err = client.New(s.Config, client.Options{Scheme: s.Scheme})
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	return s
}

// Stop ends Ctx and stops the control plane; call it in AfterSuite, after
// whatever runs on the control plane has stopped. A nil Suite (BeforeSuite
// failed early) stops nothing.
func (s *Suite) Stop() {
	ginkgo.GinkgoHelper()
	if s == nil {
		return
	}
	s.cancel()
	if s.Env != nil {
		gomega.Expect(s.Env.Stop()).To(gomega.Succeed())
	}
}

// Path joins elem to the repository root.
func (s *Suite) Path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

// UserWithRole is UserWithRole for the role controller-gen writes to
// roleFile (relative to the repository root): the returned config can do
// only what the repository grants the component, so that a missing RBAC
// marker fails the suite and not a cluster.
func (s *Suite) UserWithRole(roleFile, user string) *rest.Config {
	ginkgo.GinkgoHelper()
	cfg, err := UserWithRole(s.Ctx, s.Env, s.Client, s.Path(roleFile), user)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	return cfg
}

// NewNamespace creates a namespace of its own for one spec, so that specs
// registering the same plugin never see each other's versions.
func (s *Suite) NewNamespace() string {
	ginkgo.GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("spec-%d", s.seq.Add(1))}}
	gomega.Expect(s.Client.Create(s.Ctx, ns)).To(gomega.Succeed())
	return ns.Name
}

// RegisterVersions applies the PluginVersions the plugin's own manifest
// command prints for versions (all when none), pointing at url, as a user
// would with kubectl apply.
func (s *Suite) RegisterVersions(ns string, p *plugin.Plugin, url string, versions ...string) []bkv1.PluginVersion {
	ginkgo.GinkgoHelper()
	plvs, err := RegisterVersions(s.Ctx, s.Client, ns, p, url, versions...)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	return plvs
}

// WaitReady waits until every version is Ready.
func (s *Suite) WaitReady(plvs []bkv1.PluginVersion) {
	ginkgo.GinkgoHelper()
	for i := range plvs {
		key := client.ObjectKeyFromObject(&plvs[i])
		gomega.Eventually(func() error { return Ready(s.Ctx, s.Client, key) }).Should(gomega.Succeed())
	}
}

// RawJSON wraps a JSON literal as a CR field's value.
func RawJSON(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }
