//go:build envtest

package invocation_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/invocation"
	"github.com/bkplugin/bk-plugin-operator/internal/syncbuf"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/callbacker/callbackerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/poller/pollerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// The suite runs the reconcilers in a real manager against a real
// kube-apiserver and etcd, calling the SDK's example plugins served over real
// HTTP, as a cluster would.

var (
	suite     *testenv.Suite
	k8sClient client.Client
	suiteCtx  context.Context
	// managerCfg is a user bound only to the manager's generated ClusterRole.
	managerCfg *rest.Config

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

	// stopManager stops the running manager; specs that restart it use
	// stopRunningManager and startManager.
	stopManager func()
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller suite")
}

// invocationOptions are the options the suite's manager runs with: fast
// retries so that failure cases end within seconds.
func invocationOptions() invocation.Options {
	opts := testenv.InvocationOptions("http://shim.test:8080", callbackKey)
	opts.Archive = suiteArchive
	return opts
}

// startManager starts a manager running both reconcilers and returns once it
// has started; stopRunningManager stops it and waits until it has.
func startManager(invOpts invocation.Options) {
	stopManager = suite.StartManager(testenv.ManagerOptions{
		Config:      managerCfg,
		Version:     testenv.VersionOptions(),
		Invocation:  &invOpts,
		Restartable: true,
	})
}

func stopRunningManager() { stopManager() }

var _ = BeforeSuite(func() {
	suite = testenv.Start(testenv.Options{Root: filepath.Join("..", "..", ".."), Log: managerLogs})
	k8sClient, suiteCtx = suite.Client, suite.Ctx

	helloPod = httptest.NewServer(server.Handler(helloplugin.Plugin()))
	pollerPod = httptest.NewServer(server.Handler(pollerplugin.Plugin()))
	callbackerPod = httptest.NewServer(server.Handler(callbackerplugin.Plugin()))

	// The manager runs with exactly the RBAC controller-gen generates for
	// it, so a missing marker fails here and not in a cluster.
	var err error
	suiteArchiveDir, err = os.MkdirTemp("", "bkplugin-invocation-suite-")
	Expect(err).NotTo(HaveOccurred())
	suiteArchive, err = archive.Open(suiteCtx, "sqlite://"+filepath.Join(suiteArchiveDir, "history.db"), archive.Options{})
	Expect(err).NotTo(HaveOccurred())
	managerCfg = suite.UserWithRole(filepath.Join("config", "rbac", "role.yaml"), "bk-plugin-manager")
	startManager(invocationOptions())
})

var _ = AfterSuite(func() {
	if stopManager != nil {
		stopRunningManager()
	}
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
	suite.Stop()
})
