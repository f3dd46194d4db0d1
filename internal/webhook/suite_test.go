//go:build envtest

package webhook_test

import (
	"crypto/tls"
	"net"
	"path/filepath"
	"strconv"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
)

// The suite installs config/webhook/manifests.yaml, as make manifests
// generates it, in a real kube-apiserver, which calls the manager's
// webhook server over TLS with the certificates envtest makes.

var (
	suite       *testenv.Suite
	stopManager func()
)

func TestWebhook(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Webhook suite")
}

var _ = BeforeSuite(func() {
	suite = testenv.Start(testenv.Options{
		Root:         filepath.Join("..", ".."),
		WebhookPaths: []string{filepath.Join("config", "webhook", "manifests.yaml")},
	})
	// The manager runs as the user the generated RBAC makes: the webhook
	// lists versions with it.
	cfg := suite.UserWithRole(filepath.Join("config", "rbac", "role.yaml"), "bk-plugin-manager")
	stopManager = suite.StartManager(testenv.ManagerOptions{
		Config:  cfg,
		Version: testenv.VersionOptions(),
		Webhook: &suite.Env.WebhookInstallOptions,
	})
	// The webhook fails closed: wait until its server takes connections.
	o := suite.Env.WebhookInstallOptions
	addr := net.JoinHostPort(o.LocalServingHost, strconv.Itoa(o.LocalServingPort))
	Eventually(func() error {
		// Only whether it listens matters here; the API server checks the
		// certificate when it calls.
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec
		if err != nil {
			return err
		}
		return conn.Close()
	}).Should(Succeed())
})

var _ = AfterSuite(func() {
	if stopManager != nil {
		stopManager()
	}
	suite.Stop()
})
