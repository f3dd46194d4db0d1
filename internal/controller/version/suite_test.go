//go:build envtest

package version_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// The suite runs the PluginVersion reconciler alone in a real manager
// against a real kube-apiserver and etcd, probing the SDK's hello plugin
// served over real HTTP, as a cluster would. The PluginInvocation suite
// (internal/controller/invocation) runs both reconcilers together.

var (
	suite     *testenv.Suite
	k8sClient client.Client
	suiteCtx  context.Context
	// helloPod serves the hello example plugin on loopback.
	helloPod *httptest.Server
	// stopManager stops the manager and waits until it has.
	stopManager func()
)

func TestVersionController(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "PluginVersion controller suite")
}

var _ = BeforeSuite(func() {
	suite = testenv.Start(testenv.Options{Root: filepath.Join("..", "..", "..")})
	k8sClient, suiteCtx = suite.Client, suite.Ctx

	helloPod = httptest.NewServer(server.Handler(helloplugin.Plugin()))

	// The manager runs with exactly the RBAC controller-gen generates for
	// it, so a missing marker fails here and not in a cluster.
	stopManager = suite.StartManager(testenv.ManagerOptions{
		Config:  suite.UserWithRole(filepath.Join("config", "rbac", "role.yaml"), "bk-plugin-manager"),
		Version: testenv.VersionOptions(),
	})
})

var _ = AfterSuite(func() {
	if stopManager != nil {
		stopManager()
	}
	if helloPod != nil {
		helloPod.Close()
	}
	suite.Stop()
})
