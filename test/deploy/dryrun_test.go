//go:build envtest

package deploy

import (
	"context"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

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
		testenv.WaitEstablished(ctx, t, c, name)
	}

	testenv.DryRunApply(ctx, t, c, "deploytest", objs)
}
