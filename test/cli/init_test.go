//go:build envtest

package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
	"sigs.k8s.io/yaml"

	"github.com/bkplugin/bk-plugin-operator/test/stacktest"
)

// TestInitScaffoldBuildsTestsAndPrintsManifests runs `bkplugin init` into a
// temporary folder as a plugin author would, with no --sdk-replace (the
// binary knows the checkout it was built from), then builds and tests the
// generated project, prints its manifests and builds it from vendor/ with
// no module proxy, as its Dockerfile does. Only the module proxy is used,
// for the SDK's dependencies; the SDK itself comes from this checkout.
func TestInitScaffoldBuildsTestsAndPrintsManifests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated module; skipped with -short")
	}
	root := stacktest.Root(t)
	bin := filepath.Join(stacktest.Build(t, "cmd/bkplugin"), "bkplugin")
	work := t.TempDir()
	// GOWORK=off keeps a go.work above the temp folder out of the way;
	// -mod=mod lets the go command complete go.sum, as the brief's offline
	// recipe says.
	env := []string{"GOFLAGS=-mod=mod", "GOWORK=off"}

	res := runCmd(t, work, env, 5*time.Minute, bin, "init", "example.com/acme/greeter", "--dir", "greeter", "--description", "Greets people.")
	if res.code != 0 {
		t.Fatalf("bkplugin init exited %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	dir := filepath.Join(work, "greeter")
	for _, f := range []string{"go.mod", "go.sum", "main.go", "greeterplugin/plugin.go", "greeterplugin/plugin_test.go", "Dockerfile", "Makefile", "README.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("init wrote no %s: %v", f, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(mod.Replace) != 1 || mod.Replace[0].Old.Path != "github.com/bkplugin/bk-plugin-operator" || mod.Replace[0].New.Path != root {
		t.Fatalf("go.mod's replace = %+v, want the SDK replaced by this checkout %s:\n%s", mod.Replace, root, data)
	}

	goRun := func(timeout time.Duration, args ...string) result {
		t.Helper()
		r := runCmd(t, dir, env, timeout, "go", args...)
		if r.code != 0 {
			t.Fatalf("go %s in the generated project exited %d:\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r
	}
	goRun(15*time.Minute, "build", "./...")
	goRun(10*time.Minute, "vet", "./...")
	tested := goRun(10*time.Minute, "test", "-count=1", "-v", "./...")
	for _, want := range []string{"--- PASS: TestPlugin/defaults_fill_in", "--- PASS: TestPlugin/name_is_required", "ok  \texample.com/acme/greeter/greeterplugin"} {
		if !strings.Contains(tested.stdout, want) {
			t.Errorf("go test output lacks %q:\n%s", want, tested.stdout)
		}
	}

	// The manifests, through the Makefile when make is here.
	var manifest result
	if _, err := exec.LookPath("make"); err == nil {
		manifest = runCmd(t, dir, env, 5*time.Minute, "make", "-s", "manifest", "NAMESPACE=plugins")
		if manifest.code != 0 {
			t.Fatalf("make manifest exited %d:\n%s%s", manifest.code, manifest.stdout, manifest.stderr)
		}
	} else {
		manifest = goRun(5*time.Minute, "run", ".", "manifest", "--service", "greeter", "--port", "80", "--namespace", "plugins")
	}
	checkManifest(t, manifest.stdout)

	// The image's build: every dependency vendored, then no proxy at all.
	goRun(5*time.Minute, "mod", "vendor")
	vendored := runCmd(t, dir, []string{"GOFLAGS=-mod=vendor", "GOWORK=off", "GOPROXY=off", "CGO_ENABLED=0"}, 10*time.Minute,
		"go", "build", "-trimpath", "-o", filepath.Join(work, "plugin"), ".")
	if vendored.code != 0 {
		t.Fatalf("build from vendor/ (the Dockerfile's way) exited %d:\n%s", vendored.code, vendored.stderr)
	}
	served := runCmd(t, dir, nil, time.Minute, filepath.Join(work, "plugin"), "manifest", "--url", "http://greeter.plugins:8080")
	if served.code != 0 || !strings.Contains(served.stdout, "kind: PluginVersion") {
		t.Errorf("the vendored binary's manifest exited %d:\n%s%s", served.code, served.stdout, served.stderr)
	}

	// The generated test can fail: break the plugin and run it again.
	pluginGo := filepath.Join(dir, "greeterplugin", "plugin.go")
	src, err := os.ReadFile(pluginGo)
	if err != nil {
		t.Fatal(err)
	}
	broken := bytes.Replace(src, []byte(`ctx.Inputs.Greeting + ", "`), []byte(`ctx.Inputs.Greeting + "; "`), 1)
	if bytes.Equal(broken, src) {
		t.Fatal("the generated plugin.go no longer builds the greeting as the test expects; update this test")
	}
	if err := os.WriteFile(pluginGo, broken, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCmd(t, dir, env, 10*time.Minute, "go", "test", "-count=1", "./..."); r.code == 0 {
		t.Errorf("the generated test passed against a broken plugin:\n%s", r.stdout)
	}
}

// checkManifest checks the generated plugin's PluginVersion.
func checkManifest(t *testing.T, out string) {
	t.Helper()
	docs := strings.Split(strings.TrimSpace(out), "\n---\n")
	if len(docs) != 1 {
		t.Fatalf("manifest printed %d documents, want the one version:\n%s", len(docs), out)
	}
	var pv struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name, Namespace string
			Labels          map[string]string
		} `json:"metadata"`
		Spec struct {
			Description string `json:"description"`
			Inputs      struct {
				Required   []string       `json:"required"`
				Properties map[string]any `json:"properties"`
			} `json:"inputs"`
			Outputs struct {
				Properties map[string]any `json:"properties"`
			} `json:"outputs"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(docs[0]), &pv); err != nil {
		t.Fatalf("manifest is not YAML: %v\n%s", err, out)
	}
	if pv.APIVersion != "bkplugin.io/v1alpha1" || pv.Kind != "PluginVersion" || pv.Metadata.Name != "greeter-1-0-0" || pv.Metadata.Namespace != "plugins" {
		t.Errorf("manifest is %s %s %s/%s, want bkplugin.io/v1alpha1 PluginVersion plugins/greeter-1-0-0:\n%s",
			pv.APIVersion, pv.Kind, pv.Metadata.Namespace, pv.Metadata.Name, out)
	}
	if !slices.Equal(pv.Spec.Inputs.Required, []string{"name"}) {
		t.Errorf("inputs.required = %v, want [name]: greeting and times have defaults", pv.Spec.Inputs.Required)
	}
	for _, in := range []string{"name", "greeting", "times"} {
		if _, ok := pv.Spec.Inputs.Properties[in]; !ok {
			t.Errorf("inputs lack %s:\n%s", in, out)
		}
	}
	if _, ok := pv.Spec.Outputs.Properties["message"]; !ok {
		t.Errorf("outputs lack message:\n%s", out)
	}
}
