package plugintest

import (
	"bytes"
	"os"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

// CheckCompatible compares version to of p with version from and returns
// the report, failing the test only when a version is unknown or a schema
// unreadable. Use it to assert that a change is breaking (a new major
// version should be); use AssertCompatible for the usual case.
func CheckCompatible(t testing.TB, p *plugin.Plugin, from, to string) compat.Report {
	t.Helper()
	versionOf := func(v string) compat.Version {
		t.Helper()
		info, ok := p.Version(v)
		if !ok {
			t.Fatalf("plugintest: plugin %s has no version %q", p.Meta().Code, v)
		}
		return compat.Version{Inputs: info.Inputs, ContextInputs: info.ContextInputs, Outputs: info.Outputs, TaskJSON: info.TaskJSON}
	}
	r, err := compat.Compare(versionOf(from), versionOf(to))
	if err != nil {
		t.Fatalf("plugintest: compare %s %s with %s: %v", p.Meta().Code, to, from, err)
		return compat.Report{}
	}
	return r
}

// AssertCompatible fails the test, listing every breaking change, unless
// version to of p can replace version from without breaking callers:
//
//	plugintest.AssertCompatible(t, helloplugin.Plugin(), "1.0.0", "1.1.0")
func AssertCompatible(t testing.TB, p *plugin.Plugin, from, to string) {
	t.Helper()
	r := CheckCompatible(t, p, from, to)
	if !r.Compatible() {
		var buf bytes.Buffer
		_ = r.Write(&buf, "  ") // a bytes.Buffer does not fail
		t.Errorf("%s %s breaks callers of %s; give it a new major version or undo:\n%s", p.Meta().Code, to, from, buf.String())
	}
}

// AssertCompatibleWithManifest fails the test unless every version of p is
// compatible with the published version of the same major in the manifest
// file at path, the check "manifest --check-against path" makes. Keep the
// manifest of what is deployed (as printed by manifest, or by kubectl get
// pluginversions -o yaml) in the repository, and this test stops a
// breaking change before it is applied.
func AssertCompatibleWithManifest(t testing.TB, p *plugin.Plugin, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
		return
	}
	defer f.Close()
	published, err := manifest.Read(f)
	if err != nil {
		t.Fatalf("plugintest: %s: %v", path, err)
		return
	}
	checks, err := manifest.CheckAgainst(p, published, nil)
	if err != nil {
		t.Fatalf("plugintest: %s: %v", path, err)
		return
	}
	var buf bytes.Buffer
	if err := manifest.WriteChecks(&buf, p.Meta().Code, checks); err != nil {
		t.Errorf("%v:\n%s", err, buf.String())
	}
}
