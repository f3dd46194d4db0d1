//go:build envtest

package invocation

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// What naming an item's group costs on its first add, read from a real
// informer cache over a real API server: the whole invocation was
// deep-copied (inputs included) to read spec.plugin; pluginGroupOf now
// shares the cache's object.

// groupInputsBytes is the size of the inputs of the invocation read, in
// the order of a pipeline's real inputs.
const groupInputsBytes = 64 << 10

// deepCopyGroupOf is pluginGroupOf as it was, the reference the copy-free
// read is measured against in the same run.
func deepCopyGroupOf(c client.Reader) func(reconcile.Request) string {
	return func(req reconcile.Request) string {
		ctx, cancel := context.WithTimeout(context.Background(), groupLookupTimeout)
		defer cancel()
		inv := &bkv1.PluginInvocation{}
		if err := c.Get(ctx, req.NamespacedName, inv); err != nil {
			return req.Namespace + "/"
		}
		return req.Namespace + "/" + inv.Spec.Plugin
	}
}

// groupCache starts an API server with the CRDs and an informer cache of
// invocations holding one invocation with groupInputsBytes of inputs, and
// returns the cache and the invocation's request.
func groupCache(tb testing.TB) (cache.Cache, reconcile.Request) {
	tb.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		tb.Skip("KUBEBUILDER_ASSETS is unset; make test sets it (hack/setup-envtest.sh)")
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "..", "..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		tb.Fatalf("start envtest: %v", err)
	}
	tb.Cleanup(func() { _ = env.Stop() })
	scheme := kruntime.NewScheme()
	if err := bkv1.AddToScheme(scheme); err != nil {
		tb.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	inv := &bkv1.PluginInvocation{
		ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("a", 32), Namespace: "default"},
		Spec: bkv1.PluginInvocationSpec{Plugin: "bulky", Version: "1.0.0",
			Inputs: &apiextensionsv1.JSON{Raw: fmt.Appendf(nil, `{"blob":%q}`, strings.Repeat("x", groupInputsBytes))}},
	}
	if err := c.Create(ctx, inv); err != nil {
		tb.Fatalf("create the invocation: %v", err)
	}
	ca, err := cache.New(cfg, cache.Options{Scheme: scheme})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := ca.GetInformer(ctx, &bkv1.PluginInvocation{}); err != nil {
		tb.Fatal(err)
	}
	go func() { _ = ca.Start(ctx) }()
	sync, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	if !ca.WaitForCacheSync(sync) {
		tb.Fatal("the cache did not sync")
	}
	req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: inv.Namespace, Name: inv.Name}}
	if got := pluginGroupOf(ca)(req); got != "default/bulky" {
		tb.Fatalf("pluginGroupOf = %q, want default/bulky", got)
	}
	return ca, req
}

// bytesPerCall is what one call of f allocates, on average over n calls.
func bytesPerCall(f func(reconcile.Request) string, req reconcile.Request, n int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		_ = f(req)
	}
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
}

// TestPluginGroupOfDoesNotCopy: naming the group allocates a small fraction
// of the invocation, where the deep copy allocates at least its inputs.
func TestPluginGroupOfDoesNotCopy(t *testing.T) {
	ca, req := groupCache(t)
	copied := bytesPerCall(deepCopyGroupOf(ca), req, 200)
	shared := bytesPerCall(pluginGroupOf(ca), req, 200)
	t.Logf("bytes per call: %.0f with the deep copy, %.0f without", copied, shared)
	if copied < groupInputsBytes {
		t.Fatalf("the deep-copy reference allocated %.0f bytes a call, less than the %d bytes of inputs: the measure does not see the copy", copied, groupInputsBytes)
	}
	if shared > copied/10 {
		t.Errorf("pluginGroupOf allocates %.0f bytes a call, over a tenth of the deep copy's %.0f: it still copies the invocation", shared, copied)
	}
}

// BenchmarkPluginGroupOf compares the group lookup with and without the
// deep copy (go test -tags envtest -run '^$' -bench PluginGroupOf).
func BenchmarkPluginGroupOf(b *testing.B) {
	ca, req := groupCache(b)
	for _, c := range []struct {
		name string
		f    func(reconcile.Request) string
	}{{"deep-copy", deepCopyGroupOf(ca)}, {"shared", pluginGroupOf(ca)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = c.f(req)
			}
		})
	}
}
