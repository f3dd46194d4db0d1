package testenv

import (
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// StartPlain starts a bare kube-apiserver and etcd for a plain (non-Ginkgo)
// test and stops them when t ends. It returns a client whose scheme holds
// client-go's kinds plus those addToScheme adds. Without KUBEBUILDER_ASSETS
// it skips t, so `go test -tags envtest` on a machine without the binaries
// says why instead of failing.
func StartPlain(t testing.TB, addToScheme ...func(*runtime.Scheme) error) client.Client {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is unset; make test sets it (hack/setup-envtest.sh)")
	}
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	scheme := runtime.NewScheme()
	for _, add := range append([]func(*runtime.Scheme) error{clientgoscheme.AddToScheme}, addToScheme...) {
		if err := add(scheme); err != nil {
			t.Fatalf("build the test scheme: %v", err)
		}
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("client for envtest: %v", err)
	}
	return c
}
