package testenv

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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

// WaitEstablished waits until the API server serves the kind of the CRD
// called name, since objects of a kind created before that are refused; it
// fails t when ctx ends first.
func WaitEstablished(ctx context.Context, t testing.TB, c client.Client, name string) {
	t.Helper()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		var crd apiextensionsv1.CustomResourceDefinition
		err := c.Get(ctx, client.ObjectKey{Name: name}, &crd)
		if err == nil {
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return
				}
			}
			err = fmt.Errorf("not Established yet")
		}
		select {
		case <-ctx.Done():
			t.Fatalf("CRD %s: %v", name, err)
		case <-ticker.C:
		}
	}
}

// DryRunApply server-side applies each of objs as fieldOwner with dry-run,
// so schema, defaulting and validation all run and nothing is stored; it
// reports every refused object on t rather than stopping at the first.
func DryRunApply(ctx context.Context, t testing.TB, c client.Client, fieldOwner string, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o),
			client.FieldOwner(fieldOwner), client.ForceOwnership, client.DryRunAll)
		if err != nil {
			t.Errorf("server-side dry-run of %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	t.Logf("%d objects accepted", len(objs))
}
