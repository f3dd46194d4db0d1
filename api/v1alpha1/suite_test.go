//go:build envtest

package v1alpha1_test

import (
	"context"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
)

// These specs prove the API server side of the API: the CRDs' schemas, CEL
// rules, printer columns and short names, against a real kube-apiserver.

var (
	suite     *testenv.Suite
	ctx       context.Context
	testEnv   *envtest.Environment
	k8sClient client.Client
)

func TestAPIs(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "API validation suite")
}

var _ = BeforeSuite(func() {
	suite = testenv.Start(testenv.Options{Root: filepath.Join("..", "..")})
	ctx, testEnv, k8sClient = suite.Ctx, suite.Env, suite.Client
})

var _ = AfterSuite(func() { suite.Stop() })
