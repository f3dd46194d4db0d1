package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/callbacker/callbackerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/deployer/deployerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/poller/pollerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

// samplePort is the port of the example plugins' Services (config/examples).
const samplePort = 8080

// readSamples decodes every object of every YAML file in config/samples.
func readSamples(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(configDir, "samples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in %s/samples: %v", configDir, err)
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
		for {
			o := &unstructured.Unstructured{}
			if err := dec.Decode(&o.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("%s: %v", f, err)
			}
			if len(o.Object) > 0 {
				objs = append(objs, o)
			}
		}
	}
	return objs
}

// TestSamplePluginVersionsMatchThePluginsCode keeps config/samples true to
// the example plugins: a PluginVersion whose schemas differ from what the
// pod serves never becomes Ready.
func TestSamplePluginVersionsMatchThePluginsCode(t *testing.T) {
	samples := map[string]v1alpha1.PluginVersion{}
	for _, o := range readSamples(t) {
		if o.GetKind() != "PluginVersion" {
			continue
		}
		var pv v1alpha1.PluginVersion
		b, _ := o.MarshalJSON()
		if err := json.Unmarshal(b, &pv); err != nil {
			t.Fatalf("sample %s: %v", o.GetName(), err)
		}
		samples[pv.Name] = pv
	}
	for _, p := range []*plugin.Plugin{helloplugin.Plugin(), pollerplugin.Plugin(), callbackerplugin.Plugin(), deployerplugin.Plugin()} {
		code := p.Meta().Code
		want, err := manifest.PluginVersions(p, manifest.Options{Service: code, Port: samplePort})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			got, ok := samples[w.Name]
			if !ok {
				t.Errorf("config/samples has no PluginVersion %s; regenerate it with `bin/%s manifest --service %s --port %d`", w.Name, code, code, samplePort)
				continue
			}
			if diff := cmp.Diff(generic(t, got.Spec), generic(t, w.Spec)); diff != "" {
				t.Errorf("sample PluginVersion %s differs from the plugin's code; regenerate it with `bin/%s manifest --service %s --port %d` (-sample +code):\n%s",
					w.Name, code, code, samplePort, diff)
			}
		}
	}
}

// generic turns v into plain JSON values, so that schemas held as raw JSON
// compare by meaning rather than by key order.
func generic(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
