package restmapping

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// countingMapper is a real DefaultRESTMapper that counts RESTMapping calls.
type countingMapper struct {
	*meta.DefaultRESTMapper
	calls int
}

func (c *countingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	c.calls++
	return c.DefaultRESTMapper.RESTMapping(gk, versions...)
}

func TestMemoizedKeepsFoundMappingsOnly(t *testing.T) {
	gv := schema.GroupVersion{Group: "bkplugin.io", Version: "v1alpha1"}
	inner := &countingMapper{DefaultRESTMapper: meta.NewDefaultRESTMapper([]schema.GroupVersion{gv})}
	inner.Add(gv.WithKind("PluginInvocation"), meta.RESTScopeNamespace)
	m := Memoize(inner)
	gk := schema.GroupKind{Group: "bkplugin.io", Kind: "PluginInvocation"}

	for range 3 {
		got, err := m.RESTMapping(gk, "v1alpha1")
		if err != nil {
			t.Fatalf("RESTMapping: %v", err)
		}
		if got.Scope.Name() != meta.RESTScopeNameNamespace || got.Resource.Resource != "plugininvocations" {
			t.Fatalf("RESTMapping = %+v, want the namespaced plugininvocations", got)
		}
	}
	if inner.calls != 1 {
		t.Errorf("the wrapped mapper was asked %d times for one mapping, want 1", inner.calls)
	}
	// Another versions list is another question.
	if _, err := m.RESTMapping(gk); err != nil {
		t.Fatalf("RESTMapping without versions: %v", err)
	}
	if inner.calls != 2 {
		t.Errorf("calls = %d after a second question, want 2", inner.calls)
	}

	// A kind not found is asked again each time: a CRD may be installed later.
	unknown := schema.GroupKind{Group: "bkplugin.io", Kind: "PluginServer"}
	for range 2 {
		_, err := m.RESTMapping(unknown, "v1alpha1")
		var noMatch *meta.NoKindMatchError
		if !errors.As(err, &noMatch) {
			t.Fatalf("RESTMapping of an unknown kind: %v, want a NoKindMatchError", err)
		}
	}
	if inner.calls != 4 {
		t.Errorf("calls = %d, want 4: a miss must not be kept", inner.calls)
	}
	inner.Add(gv.WithKind("PluginServer"), meta.RESTScopeNamespace)
	if _, err := m.RESTMapping(unknown, "v1alpha1"); err != nil {
		t.Errorf("a kind added after a miss: %v", err)
	}

	// Reset forgets what was kept.
	m.Reset()
	if _, err := m.RESTMapping(gk, "v1alpha1"); err != nil {
		t.Fatal(err)
	}
	if inner.calls != 6 {
		t.Errorf("calls = %d after Reset, want 6", inner.calls)
	}
}
