package shim

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/deployer/deployerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

const benchNamespace = "bench"

// benchVersions are the PluginVersions the examples publish: hello's and
// deployer's, whose task.json and schemas are what a copy pays for.
func benchVersions(tb testing.TB) []bkv1.PluginVersion {
	tb.Helper()
	var out []bkv1.PluginVersion
	for _, p := range []func() *plugin.Plugin{helloplugin.Plugin, deployerplugin.Plugin} {
		plvs, err := manifest.PluginVersions(p(), manifest.Options{Namespace: benchNamespace, URL: "http://127.0.0.1:1"})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, plvs...)
	}
	for i := range out {
		out[i].UID = types.UID("uid-" + out[i].Name)
		out[i].ResourceVersion = "1"
	}
	return out
}

// versionCache is the shim's informer cache (cache.New, its transform and
// indexes) filled from plvs by a list-watch that serves them, so that the
// benchmark reads real controller-runtime cache objects without an API
// server.
func versionCache(tb testing.TB, plvs []bkv1.PluginVersion) cache.Cache {
	tb.Helper()
	scheme := runtime.NewScheme()
	if err := bkv1.AddToScheme(scheme); err != nil {
		tb.Fatal(err)
	}
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{bkv1.GroupVersion})
	mapper.Add(bkv1.GroupVersion.WithKind("PluginVersion"), meta.RESTScopeNamespace)
	mapper.Add(bkv1.GroupVersion.WithKind("PluginVersionList"), meta.RESTScopeNamespace)
	list := &bkv1.PluginVersionList{Items: plvs}
	list.ResourceVersion = "1"
	c, err := cache.New(&rest.Config{Host: "http://127.0.0.1:1"}, cache.Options{
		Scheme: scheme, Mapper: mapper,
		DefaultNamespaces: map[string]cache.Config{benchNamespace: {}},
		DefaultTransform:  slimForCache,
		NewInformer: func(_ toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, idx toolscache.Indexers) toolscache.SharedIndexInformer {
			lw := &toolscache.ListWatch{
				ListFunc:  func(metav1.ListOptions) (runtime.Object, error) { return list.DeepCopy(), nil },
				WatchFunc: func(metav1.ListOptions) (watch.Interface, error) { return watch.NewFake(), nil },
			}
			// A list-watch that is no API server cannot stream the
			// initial list (WatchList); this one says so.
			return toolscache.NewSharedIndexInformer(unsupportedWatchList{lw}, obj, resync, idx)
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	if err := versions.SetupIndexes(ctx, c); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.GetInformer(ctx, &bkv1.PluginVersion{}); err != nil {
		tb.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	syncCtx, done := context.WithTimeout(ctx, 30*time.Second)
	defer done()
	if !c.WaitForCacheSync(syncCtx) {
		tb.Fatal("the PluginVersion cache did not sync")
	}
	return c
}

// unsupportedWatchList is a list-watch without the WatchList semantics
// of an API server (client-go's watchlist.DoesClientNotSupportWatchListSemantics).
type unsupportedWatchList struct{ *toolscache.ListWatch }

func (unsupportedWatchList) IsWatchListSemanticsUnSupported() bool { return true }

// resolveCopied is the version lookup as it was before
// client.UnsafeDisableDeepCopy: the list deep-copies every version.
func resolveCopied(ctx context.Context, r client.Reader, code, requested string) (*bkv1.PluginVersion, error) {
	var list bkv1.PluginVersionList
	if err := r.List(ctx, &list, client.InNamespace(benchNamespace), client.MatchingFields{versions.IndexPluginVersionPlugin: code}); err != nil {
		return nil, err
	}
	return versions.Resolve(list.Items, versions.Request{Plugin: code, Version: requested})
}

// BenchmarkResolveVersion compares the shim's version lookup (the cache's
// own objects) with one that deep-copies them, per invoke: compare the
// allocs/op and B/op of the two sub-benchmarks of one run.
func BenchmarkResolveVersion(b *testing.B) {
	c := versionCache(b, benchVersions(b))
	v := &versionService{reader: c, namespace: benchNamespace}
	ctx := context.Background()
	for _, code := range []string{"hello", "deployer"} {
		b.Run(code+"/shared", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.resolveFor(ctx, code, "*", "0123456789abcdef0123456789abcdef"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(code+"/deepcopy", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := resolveCopied(ctx, c, code, "*"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The version service hands out the cache's own PluginVersions
// (client.UnsafeDisableDeepCopy): everything that reads them must leave
// them as they were, or every later request would see the change.
func TestVersionServiceLeavesCacheAlone(t *testing.T) {
	plvs := benchVersions(t)
	pristine := make([]bkv1.PluginVersion, len(plvs))
	for i := range plvs {
		plvs[i].DeepCopyInto(&pristine[i])
	}
	c := versionCache(t, plvs)
	v := &versionService{reader: c, namespace: benchNamespace}
	s := &invocations{compiled: versions.NewCache()}
	ctx := context.Background()
	for _, code := range []string{"hello", "deployer"} {
		plv, err := v.resolveFor(ctx, code, "*", "0123456789abcdef0123456789abcdef")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.compiled.Get(plv); err != nil {
			t.Fatal(err)
		}
		_, _ = s.checkTask(plv, []byte(`{}`))
		_, _ = needsCluster(directChoice{Mode: SyncInvokeDirect, Archive: true, Version: plv})
		if _, err := v.meta(ctx, code); err != nil {
			t.Fatal(err)
		}
		if _, err := v.detail(ctx, code, plv.Spec.Version); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.plugins(ctx); err != nil {
		t.Fatal(err)
	}
	var after bkv1.PluginVersionList
	if err := c.List(ctx, &after, client.InNamespace(benchNamespace)); err != nil {
		t.Fatal(err)
	}
	if len(after.Items) != len(pristine) {
		t.Fatalf("cache holds %d versions, want %d", len(after.Items), len(pristine))
	}
	for _, got := range after.Items {
		found := false
		for _, want := range pristine {
			if want.Name == got.Name {
				found = true
				if !equality.Semantic.DeepEqual(want.Spec, got.Spec) || !equality.Semantic.DeepEqual(want.Labels, got.Labels) {
					t.Errorf("version %s changed in the cache", got.Name)
				}
			}
		}
		if !found {
			t.Errorf("unexpected version %s in the cache", got.Name)
		}
	}
}
