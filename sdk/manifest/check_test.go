package manifest_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

// published renders versions of p as the manifest a cluster was given.
func published(t *testing.T, p *plugin.Plugin, versions ...string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := manifest.Write(&buf, p, manifest.Options{Service: p.Meta().Code, Versions: versions}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func read(t *testing.T, doc string) []v1alpha1.PluginVersion {
	t.Helper()
	pvs, err := manifest.Read(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return pvs
}

type (
	nextInputs struct {
		Name string `json:"name"`
		Lang string `json:"lang" jsonschema:"enum=en,enum=zh"`
	}
	nextOutputs struct {
		Text string `json:"text"`
	}
)

// nextHello is hello with a breaking 1.2.0 and the same change as 2.0.0.
func nextHello() *plugin.Plugin {
	p := helloplugin.Plugin()
	for _, v := range []string{"1.2.0", "2.0.0"} {
		plugin.MustAddVersion(p, plugin.Version[nextInputs, plugin.None, nextOutputs]{
			Version: v,
			Execute: func(*plugin.Context[nextInputs, plugin.None, nextOutputs]) error { return nil },
		})
	}
	return p
}

func TestReadRoundTrip(t *testing.T) {
	pvs := read(t, published(t, helloplugin.Plugin()))
	if len(pvs) != 2 || pvs[0].Spec.Version != "1.0.0" || pvs[1].Spec.Version != "1.1.0" {
		t.Fatalf("Read the hello manifest: %d objects %+v", len(pvs), pvs)
	}
	info, _ := helloplugin.Plugin().Version("1.1.0")
	if !jsonEqual(t, pvs[1].Spec.Inputs.Raw, info.Inputs) {
		t.Errorf("inputs did not round-trip: %s", pvs[1].Spec.Inputs.Raw)
	}
}

func TestReadListsAndOtherKinds(t *testing.T) {
	one := published(t, helloplugin.Plugin(), "1.0.0")
	indented := "    " + strings.ReplaceAll(strings.TrimSpace(one), "\n", "\n    ")
	list := "apiVersion: v1\nkind: List\nitems:\n  -\n" + indented + "\n"
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n---\n" + list + "---\n\n---\n" +
		`{"apiVersion":"bkplugin.io/v1alpha1","kind":"PluginVersion","metadata":{"name":"a"},"spec":{"plugin":"other","version":"1.0.0"}}` + "\n"
	pvs := read(t, doc)
	var got []string
	for _, pv := range pvs {
		got = append(got, pv.Spec.Plugin+" "+pv.Spec.Version)
	}
	if want := []string{"hello 1.0.0", "other 1.0.0"}; !slices.Equal(got, want) {
		t.Errorf("Read = %v, want %v", got, want)
	}
	if _, err := manifest.Read(strings.NewReader("kind: [unclosed\n")); err == nil || !strings.Contains(err.Error(), "document 1") {
		t.Errorf("Read of bad YAML: error = %v, want one naming the document", err)
	}
}

func TestCheckAgainstCompatible(t *testing.T) {
	checks, err := manifest.CheckAgainst(helloplugin.Plugin(), read(t, published(t, helloplugin.Plugin(), "1.0.0")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 2 {
		t.Fatalf("%d checks, want 2", len(checks))
	}
	for i, want := range []string{"1.0.0", "1.1.0"} {
		c := checks[i]
		if c.Version != want || c.Against != "1.0.0" || c.Name != "hello-1-0-0" || !c.Report.Compatible() {
			t.Errorf("check %d = %+v, want %s against 1.0.0, compatible", i, c, want)
		}
	}
	// 1.1.0 adds an optional input: listed, not breaking.
	if got := checks[1].Report.Notices; len(got) != 1 || got[0].Rule != compat.NoticeAdded || got[0].Path != "inputs.punctuation" {
		t.Errorf("1.1.0 notices = %v", got)
	}
	var out bytes.Buffer
	if err := manifest.WriteChecks(&out, "hello", checks); err != nil {
		t.Errorf("WriteChecks of compatible versions = %v", err)
	}
	if !strings.Contains(out.String(), "hello 1.1.0 against 1.0.0 (hello-1-0-0): compatible") {
		t.Errorf("report:\n%s", out.String())
	}
}

func TestCheckAgainstBreaking(t *testing.T) {
	p := nextHello()
	pub := read(t, published(t, helloplugin.Plugin()))
	pub = append(pub, read(t, `{"apiVersion":"bkplugin.io/v1alpha1","kind":"PluginVersion","metadata":{"name":"x"},"spec":{"plugin":"other","version":"1.9.0"}}`)...)
	checks, err := manifest.CheckAgainst(p, pub, []string{"1.2.0", "2.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 2 || checks[0].Against != "1.1.0" || checks[1].Against != "" {
		t.Fatalf("checks = %+v, want 1.2.0 against 1.1.0 and 2.0.0 against nothing", checks)
	}
	var got []string
	for _, f := range checks[0].Report.Breaking {
		got = append(got, string(f.Rule)+" "+f.Path)
	}
	want := []string{
		"required-added inputs.lang",
		"removed inputs.punctuation",
		"removed outputs.greeting",
	}
	if !slices.Equal(got, want) {
		t.Errorf("1.2.0 breaking = %v, want %v", got, want)
	}
	var out bytes.Buffer
	err = manifest.WriteChecks(&out, "hello", checks)
	var inc *manifest.IncompatibleError
	if !errors.As(err, &inc) || !slices.Equal(inc.Versions, []string{"1.2.0 (against 1.1.0)"}) {
		t.Errorf("WriteChecks = %v, want an IncompatibleError naming 1.2.0", err)
	}
	for _, line := range []string{
		"hello 1.2.0 against 1.1.0 (hello-1-1-0): 3 breaking change(s)",
		"  BREAKING inputs.lang: required-added: new required input",
		"  BREAKING outputs.greeting: removed: output removed",
		"hello 2.0.0: no published 2.x version at or below it; nothing to check",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("report lacks %q:\n%s", line, out.String())
		}
	}
}

// A published version changed in place is compared with itself.
func TestCheckAgainstSameVersion(t *testing.T) {
	p := plugin.MustNew(plugin.Meta{Code: "hello"})
	plugin.MustAddVersion(p, plugin.Version[nextInputs, plugin.None, helloplugin.Outputs]{
		Version: "1.0.0",
		Execute: func(*plugin.Context[nextInputs, plugin.None, helloplugin.Outputs]) error { return nil },
	})
	checks, err := manifest.CheckAgainst(p, read(t, published(t, helloplugin.Plugin())), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 1 || checks[0].Against != "1.0.0" || checks[0].Report.Compatible() {
		t.Errorf("checks = %+v, want 1.0.0 against itself, breaking", checks)
	}
}

func TestCheckAgainstErrors(t *testing.T) {
	bad := read(t, `{"apiVersion":"bkplugin.io/v1alpha1","kind":"PluginVersion","metadata":{"name":"hello-x"},"spec":{"plugin":"hello","version":"v1"}}`)
	if _, err := manifest.CheckAgainst(helloplugin.Plugin(), bad, nil); err == nil || !strings.Contains(err.Error(), "hello-x") {
		t.Errorf("published version not semver: error = %v", err)
	}
	if _, err := manifest.CheckAgainst(helloplugin.Plugin(), nil, []string{"9.9.9"}); !errors.Is(err, plugin.ErrUnknownVersion) {
		t.Errorf("unknown version: error = %v", err)
	}
}
