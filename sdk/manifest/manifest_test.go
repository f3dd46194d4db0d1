package manifest_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

func parse(t *testing.T, out string) []v1alpha1.PluginVersion {
	t.Helper()
	var pvs []v1alpha1.PluginVersion
	for _, doc := range strings.Split(out, "---\n") {
		var pv v1alpha1.PluginVersion
		if err := yaml.UnmarshalStrict([]byte(doc), &pv); err != nil {
			t.Fatalf("document does not decode into a PluginVersion: %v\n%s", err, doc)
		}
		pvs = append(pvs, pv)
	}
	return pvs
}

func TestWriteHello(t *testing.T) {
	p := helloplugin.Plugin()
	var buf bytes.Buffer
	if err := manifest.Write(&buf, p, manifest.Options{Service: "hello", Port: 8080, Namespace: "demo"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "status") || strings.Contains(buf.String(), "creationTimestamp") {
		t.Errorf("manifest carries empty status or timestamp:\n%s", buf.String())
	}
	pvs := parse(t, buf.String())
	if len(pvs) != 2 {
		t.Fatalf("%d PluginVersions, want 2", len(pvs))
	}
	for i, want := range []string{"1.0.0", "1.1.0"} {
		pv := pvs[i]
		info, _ := p.Version(want)
		if pv.Name != "hello-"+strings.ReplaceAll(want, ".", "-") || pv.Namespace != "demo" ||
			pv.APIVersion != "bkplugin.io/v1alpha1" || pv.Kind != "PluginVersion" {
			t.Errorf("object %d: %+v", i, pv.TypeMeta)
		}
		if pv.Labels[v1alpha1.LabelPlugin] != "hello" || pv.Labels[v1alpha1.LabelVersion] != want {
			t.Errorf("labels = %v", pv.Labels)
		}
		s := pv.Spec
		if s.Plugin != "hello" || s.Version != want || s.Description != info.Description ||
			s.Endpoint.Service == nil || s.Endpoint.Service.Name != "hello" || s.Endpoint.Service.Port != 8080 || s.Endpoint.URL != nil {
			t.Errorf("spec = %+v", s)
		}
		if !jsonEqual(t, s.Inputs.Raw, info.Inputs) || !jsonEqual(t, s.Outputs.Raw, info.Outputs) || !jsonEqual(t, s.ContextInputs.Raw, info.ContextInputs) {
			t.Errorf("schemas of %s differ from the code's", want)
		}
	}
	if pvs[0].Spec.Forms != nil {
		t.Errorf("1.0.0 has no form, got forms %s", pvs[0].Spec.Forms.Raw)
	}
	var forms stdapi.Forms
	if err := json.Unmarshal(pvs[1].Spec.Forms.Raw, &forms); err != nil || !strings.Contains(forms.Renderform, "punctuations") {
		t.Errorf("1.1.0 forms = %s, %v", pvs[1].Spec.Forms.Raw, err)
	}
}

func TestURLScopesAndVersions(t *testing.T) {
	p := plugin.MustNew(plugin.Meta{Code: "scoped", AllowScope: map[string]stdapi.AllowedScope{
		"bk_sops": {Type: "project", Value: []string{"1", "2"}},
		"bk_ci":   {Type: "project", Value: []string{"*"}},
	}})
	exec := func(*plugin.Context[plugin.None, plugin.None, plugin.None]) error { return nil }
	plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, plugin.None]{Version: "1.0.0-rc.1", Execute: exec})
	plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, plugin.None]{Version: "2.0.0", Execute: exec})
	pvs, err := manifest.PluginVersions(p, manifest.Options{URL: "http://10.0.0.5:8080", Versions: []string{"1.0.0-rc.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pvs) != 1 || pvs[0].Name != "scoped-1-0-0-rc-1" || *pvs[0].Spec.Endpoint.URL != "http://10.0.0.5:8080" || pvs[0].Spec.Endpoint.Service != nil {
		t.Fatalf("PluginVersions = %+v", pvs)
	}
	want := []v1alpha1.AllowScope{
		{AppCode: "bk_ci", ScopeType: "project", ScopeValues: []string{"*"}},
		{AppCode: "bk_sops", ScopeType: "project", ScopeValues: []string{"1", "2"}},
	}
	got, _ := json.Marshal(pvs[0].Spec.AllowScopes)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Errorf("allowScopes = %s, want %s", got, wantJSON)
	}
}

func TestOptionErrors(t *testing.T) {
	p := helloplugin.Plugin()
	for name, opts := range map[string]manifest.Options{
		"neither":         {},
		"both":            {Service: "a", URL: "http://a"},
		"bad URL":         {URL: "ftp://a"},
		"bad port":        {Service: "a", Port: 70000},
		"unknown version": {Service: "a", Versions: []string{"3.0.0"}},
	} {
		if _, err := manifest.PluginVersions(p, opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ab, _ := json.Marshal(x)
	bb, _ := json.Marshal(y)
	return string(ab) == string(bb)
}
