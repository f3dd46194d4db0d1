package deploy

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestWebhookOverlay checks config/overlays/webhook: the generated webhook
// configuration calls the Service in front of the manager's webhook port,
// cert-manager issues a certificate for that Service's name and injects
// its CA, and the manager serves the webhook with that certificate.
func TestWebhookOverlay(t *testing.T) {
	objs := render(t, "overlays/webhook")
	const ns = "bk-plugin-system"

	vwc := find(t, objs, "ValidatingWebhookConfiguration", "bk-plugin-validating-webhook-configuration")
	hooks, _, _ := unstructured.NestedSlice(vwc.Object, "webhooks")
	if len(hooks) != 1 {
		t.Fatalf("webhooks %v, want one", hooks)
	}
	svcRef, _, _ := unstructured.NestedStringMap(hooks[0].(map[string]any), "clientConfig", "service")
	svc := find(t, objs, "Service", svcRef["name"])
	if svcRef["namespace"] != ns || svc.GetNamespace() != ns {
		t.Errorf("webhook calls service %v; the Service is in %q, want both in %s", svcRef, svc.GetNamespace(), ns)
	}
	if fp, _, _ := unstructured.NestedString(hooks[0].(map[string]any), "failurePolicy"); fp != "Fail" {
		t.Errorf("failurePolicy %q, want Fail", fp)
	}

	cert := find(t, objs, "Certificate", "bk-plugin-serving-cert")
	if got := vwc.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != ns+"/"+cert.GetName() {
		t.Errorf("inject-ca-from %q, want %s/%s", got, ns, cert.GetName())
	}
	dns, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	if !slices.Contains(dns, svc.GetName()+"."+ns+".svc") {
		t.Errorf("certificate names %v, not the webhook Service %s.%s.svc", dns, svc.GetName(), ns)
	}
	issuer, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name")
	find(t, objs, "Issuer", issuer)
	secret, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")

	mgr := find(t, objs, "Deployment", "bk-plugin-controller-manager")
	podLabels, _, _ := unstructured.NestedStringMap(mgr.Object, "spec", "template", "metadata", "labels")
	if sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector"); !selects(sel, podLabels) {
		t.Errorf("webhook Service selects %v, not the manager's pods %v", sel, podLabels)
	}
	containers, _, _ := unstructured.NestedSlice(mgr.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	if !slices.Contains(args, "--webhook-port=9443") {
		t.Errorf("manager args %v lack --webhook-port=9443", args)
	}
	volumes, _, _ := unstructured.NestedSlice(mgr.Object, "spec", "template", "spec", "volumes")
	mounted := false
	for _, v := range volumes {
		if name, _, _ := unstructured.NestedString(v.(map[string]any), "secret", "secretName"); name == secret {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("the manager mounts no volume of the certificate's Secret %s", secret)
	}

	// config/default stays without the webhook, so it installs without
	// cert-manager.
	for _, o := range render(t, "default") {
		if o.GetKind() == "ValidatingWebhookConfiguration" || o.GetKind() == "Certificate" {
			t.Errorf("config/default renders %s %s", o.GetKind(), o.GetName())
		}
	}
}
