package chart

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestWebhook checks webhook.enabled: the generated webhook configuration
// calls the Service in front of the manager's webhook port, cert-manager
// issues its certificate for that Service and injects the CA, the manager
// serves the webhook with it; and that nothing of it renders by default.
func TestWebhook(t *testing.T) {
	for _, o := range mustRender(t, nil) {
		if o.GetKind() == "ValidatingWebhookConfiguration" || o.GetKind() == "Certificate" {
			t.Errorf("the default values render %s %s", o.GetKind(), o.GetName())
		}
	}

	objs := mustRender(t, map[string]any{"webhook": map[string]any{"enabled": true}})
	var vwc *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "ValidatingWebhookConfiguration" {
			vwc = o
		}
	}
	if vwc == nil {
		t.Fatal("webhook.enabled renders no ValidatingWebhookConfiguration")
	}
	hooks, _, _ := unstructured.NestedSlice(vwc.Object, "webhooks")
	if len(hooks) != 1 {
		t.Fatalf("webhooks %v, want the one config/webhook/manifests.yaml holds", hooks)
	}
	hook := hooks[0].(map[string]any)
	if path, _, _ := unstructured.NestedString(hook, "clientConfig", "service", "path"); path != "/validate-bkplugin-io-v1alpha1-pluginversion" {
		t.Errorf("webhook path %q", path)
	}
	svcRef, _, _ := unstructured.NestedStringMap(hook, "clientConfig", "service")
	svc := find(t, objs, "Service", svcRef["name"])
	if svc.GetNamespace() != svcRef["namespace"] {
		t.Errorf("webhook calls %v, Service is in %q", svcRef, svc.GetNamespace())
	}
	cert := find(t, objs, "Certificate", svc.GetName())
	if got := vwc.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != cert.GetNamespace()+"/"+cert.GetName() {
		t.Errorf("inject-ca-from %q, want %s/%s", got, cert.GetNamespace(), cert.GetName())
	}
	dns, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	if !slices.Contains(dns, svc.GetName()+"."+svc.GetNamespace()+".svc") {
		t.Errorf("certificate names %v, not the Service", dns)
	}
	issuer, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name")
	find(t, objs, "Issuer", issuer)
	secret, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")

	mgr := find(t, objs, "Deployment", "bkp-bk-plugin-operator-manager")
	labels, _, _ := unstructured.NestedStringMap(mgr.Object, "spec", "template", "metadata", "labels")
	if sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector"); !selects(sel, labels) {
		t.Errorf("webhook Service selects %v, not the manager's pods %v", sel, labels)
	}
	args, _, _ := unstructured.NestedStringSlice(container(t, mgr), "args")
	if !slices.Contains(args, "--webhook-port=9443") {
		t.Errorf("manager args %v lack --webhook-port=9443", args)
	}
	if v := volume(mgr, "webhook-cert"); v == nil {
		t.Error("the manager mounts no webhook-cert volume")
	} else if name, _, _ := unstructured.NestedString(v, "secret", "secretName"); name != secret {
		t.Errorf("webhook-cert volume is Secret %q, the certificate writes %q", name, secret)
	}
}
