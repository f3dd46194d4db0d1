package plugintest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugintest"
)

type strictInputs struct {
	Name string `json:"name" jsonschema:"maxLength=8"`
}

// helloNext is hello with a 1.2.0 that limits name to 8 characters, and a
// 2.0.0 that does the same.
func helloNext() *plugin.Plugin {
	p := helloplugin.Plugin()
	for _, v := range []string{"1.2.0", "2.0.0"} {
		plugin.MustAddVersion(p, plugin.Version[strictInputs, plugin.None, helloplugin.Outputs]{
			Version: v,
			Execute: func(*plugin.Context[strictInputs, plugin.None, helloplugin.Outputs]) error { return nil },
		})
	}
	return p
}

func TestAssertCompatible(t *testing.T) {
	plugintest.AssertCompatible(t, helloplugin.Plugin(), "1.0.0", "1.1.0")

	r := &recorder{TB: t}
	plugintest.AssertCompatible(r, helloNext(), "1.1.0", "1.2.0")
	got := strings.Join(r.failures, "\n")
	for _, want := range []string{
		"hello 1.2.0 breaks callers of 1.1.0",
		"BREAKING inputs.name: constraint-tightened: maxLength 8 added",
		"BREAKING inputs.punctuation: removed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("failures = %q, want one containing %q", got, want)
		}
	}

	rep := plugintest.CheckCompatible(t, helloNext(), "1.0.0", "2.0.0")
	if rep.Compatible() || rep.Breaking[0].Rule != compat.RuleConstraintTightened {
		t.Errorf("CheckCompatible(1.0.0, 2.0.0) = %+v, want the maxLength tightened", rep)
	}

	r = &recorder{TB: t}
	plugintest.CheckCompatible(r, helloNext(), "1.0.0", "3.0.0")
	if len(r.failures) == 0 || !strings.Contains(r.failures[0], `no version "3.0.0"`) {
		t.Errorf("unknown version: failures = %q", r.failures)
	}
}

func TestAssertCompatibleWithManifest(t *testing.T) {
	var pub bytes.Buffer
	if err := manifest.Write(&pub, helloplugin.Plugin(), manifest.Options{Service: "hello"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "published.yaml")
	if err := os.WriteFile(path, pub.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	plugintest.AssertCompatibleWithManifest(t, helloplugin.Plugin(), path)

	r := &recorder{TB: t}
	plugintest.AssertCompatibleWithManifest(r, helloNext(), path)
	got := strings.Join(r.failures, "\n")
	for _, want := range []string{
		"1.2.0 (against 1.1.0)",
		"BREAKING inputs.name: constraint-tightened",
		"hello 2.0.0: no published 2.x version",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("failures = %q, want one containing %q", got, want)
		}
	}

	r = &recorder{TB: t}
	plugintest.AssertCompatibleWithManifest(r, helloplugin.Plugin(), filepath.Join(t.TempDir(), "missing.yaml"))
	if len(r.failures) != 1 || !strings.Contains(r.failures[0], "missing.yaml") {
		t.Errorf("missing manifest: failures = %q", r.failures)
	}
}
