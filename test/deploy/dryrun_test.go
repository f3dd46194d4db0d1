//go:build envtest

package deploy

import (
	"context"
	"fmt"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
)

// TestAPIServerAcceptsEveryObject server-side dry-runs every rendered
// object of config/overlays/production (config/default plus its PDB,
// anti-affinity and NetworkPolicies) and config/examples and every sample against a
// real kube-apiserver: schema, defaulting and validation (the CRDs' too)
// all run, nothing is stored. The Namespaces and CRDs are created for real
// first, since the other objects need them to exist.
func TestAPIServerAcceptsEveryObject(t *testing.T) {
	c := testenv.StartPlain(t, apiextensionsv1.AddToScheme)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	objs := append(render(t, "overlays/production"), render(t, "examples")...)
	for _, o := range readSamples(t) {
		// kubectl apply -f config/samples/ puts them in the current namespace.
		o.SetNamespace("default")
		objs = append(objs, o)
	}
	var crds []string
	for _, o := range objs {
		switch o.GetKind() {
		case "Namespace", "CustomResourceDefinition":
			if err := c.Create(ctx, o.DeepCopy()); err != nil {
				t.Fatalf("create %s %s: %v", o.GetKind(), o.GetName(), err)
			}
			if o.GetKind() == "CustomResourceDefinition" {
				crds = append(crds, o.GetName())
			}
		}
	}
	for _, name := range crds {
		waitEstablished(ctx, t, c, name)
	}

	for _, o := range objs {
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o),
			client.FieldOwner("deploytest"), client.ForceOwnership, client.DryRunAll)
		if err != nil {
			t.Errorf("server-side dry-run of %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	t.Logf("%d objects accepted", len(objs))
}

// waitEstablished waits until the API server serves a CRD's kind.
func waitEstablished(ctx context.Context, t *testing.T, c client.Client, name string) {
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
