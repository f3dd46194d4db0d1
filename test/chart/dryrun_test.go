//go:build envtest

package chart

import (
	"context"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
)

// TestAPIServerAcceptsEveryRenderedObject installs the chart's CRDs into a
// real kube-apiserver, as helm install does first, then server-side
// dry-runs every object each value set renders: schema, defaulting and
// validation all run, nothing is stored. The Prometheus Operator's kinds
// get stand-in CRDs (any spec), since their schemas are not ours to test.
func TestAPIServerAcceptsEveryRenderedObject(t *testing.T) {
	c := testenv.StartPlain(t, apiextensionsv1.AddToScheme)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	for _, ns := range []string{releaseNamespace, "plugins"} {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion("v1")
		o.SetKind("Namespace")
		o.SetName(ns)
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("create namespace %s: %v", ns, err)
		}
	}
	defs := append(crds(t), standInCRD(t, "servicemonitors", "ServiceMonitor"), standInCRD(t, "prometheusrules", "PrometheusRule"))
	for _, o := range defs {
		if err := c.Create(ctx, o.DeepCopy()); err != nil {
			t.Fatalf("create CRD %s: %v", o.GetName(), err)
		}
	}
	for _, o := range defs {
		testenv.WaitEstablished(ctx, t, c, o.GetName())
	}

	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			objs := mustRender(t, vs.vals)
			testenv.DryRunApply(ctx, t, c, "charttest", objs)
		})
	}
}

// standInCRD is a CRD of monitoring.coreos.com that accepts any spec.
func standInCRD(t *testing.T, plural, kind string) *unstructured.Unstructured {
	t.Helper()
	preserve := true
	crd := &apiextensionsv1.CustomResourceDefinition{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: plural + ".monitoring.coreos.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "monitoring.coreos.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Kind: kind},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type:                   "object",
					XPreserveUnknownFields: &preserve,
				}},
			}},
		},
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(crd)
	if err != nil {
		t.Fatalf("stand-in CRD %s: %v", kind, err)
	}
	return &unstructured.Unstructured{Object: m}
}
