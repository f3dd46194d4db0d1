package chart

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestAuthWiring checks that what issue 15 asks a cluster to configure
// reaches the binaries: the shim's tokens, gateway keys and public routes,
// and the manager's execute token, each a flag and a read-only Secret.
func TestAuthWiring(t *testing.T) {
	objs := mustRender(t, valueSets[1].vals)
	for _, c := range []struct {
		deployment, flag, volume, secret string
	}{
		{"bkp-bk-plugin-operator-apiserver", "--auth-token-file=/etc/bk-plugin/auth/tokens", "auth", "shim-tokens"},
		{"bkp-bk-plugin-operator-apiserver", "--gateway-public-keys=/etc/bk-plugin/gateway", "gateway-keys", "apigw-keys"},
		{"bkp-bk-plugin-operator-apiserver", "--public-routes=meta,detail,schedule", "", ""},
		{"bkp-bk-plugin-operator-manager", "--execute-token-file=/etc/bk-plugin/execute/token", "execute-token", "execute-token"},
	} {
		d := find(t, objs, "Deployment", c.deployment)
		containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
		if !slices.Contains(args, c.flag) {
			t.Errorf("%s args %v lack %s", c.deployment, args, c.flag)
		}
		if slices.Contains(args, "--insecure-no-auth") {
			t.Errorf("%s runs with --insecure-no-auth", c.deployment)
		}
		if c.volume == "" {
			continue
		}
		vols, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "volumes")
		found := false
		for _, v := range vols {
			vm := v.(map[string]any)
			name, _, _ := unstructured.NestedString(vm, "name")
			secret, _, _ := unstructured.NestedString(vm, "secret", "secretName")
			found = found || (name == c.volume && secret == c.secret)
		}
		if !found {
			t.Errorf("%s has no volume %s from Secret %s: %v", c.deployment, c.volume, c.secret, vols)
		}
	}
	// The defaults configure no credential and do not open the shim: it
	// then refuses to start and says what to set.
	shim := find(t, mustRender(t, nil), "Deployment", "bkp-bk-plugin-operator-apiserver")
	containers, _, _ := unstructured.NestedSlice(shim.Object, "spec", "template", "spec", "containers")
	if args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args"); slices.Contains(args, "--insecure-no-auth") {
		t.Errorf("the chart's defaults run the shim open: %v", args)
	}
}
