package cli

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/test/stacktest"
)

// TestSDKImportsNothingInternal keeps the SDK usable from other modules:
// Go refuses imports of another module's internal packages, so an SDK
// package that imports one of ours could not be built outside this
// repository. A platform's packages (client, stdapi, protocol) must also
// stay free of Kubernetes modules.
func TestSDKImportsNothingInternal(t *testing.T) {
	const module = "github.com/bkplugin/bk-plugin-operator"
	list := func(pkgs ...string) []string {
		t.Helper()
		cmd := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...)
		cmd.Dir = stacktest.Root(t)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %v: %v", pkgs, err)
		}
		return strings.Fields(string(out))
	}
	for _, dep := range list("./sdk/...") {
		if strings.HasPrefix(dep, module+"/") && (strings.Contains(dep, "/internal/") || strings.HasSuffix(dep, "/internal")) {
			t.Errorf("the SDK depends on %s, which no other module can import", dep)
		}
		if strings.HasPrefix(dep, module+"/") && !strings.HasPrefix(dep, module+"/sdk/") && dep != module+"/api/v1alpha1" {
			t.Errorf("the SDK depends on %s; outside sdk/ only api/v1alpha1 is expected", dep)
		}
	}
	for _, dep := range list("./sdk/client", "./sdk/stdapi", "./sdk/protocol") {
		if strings.HasPrefix(dep, "k8s.io/") || strings.HasPrefix(dep, "sigs.k8s.io/") {
			t.Errorf("the platform side of the SDK depends on %s", dep)
		}
	}
}
