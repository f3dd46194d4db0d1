package versions

import (
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
)

func TestPrevious(t *testing.T) {
	const ready = bkv1.VersionReasonServing
	deleting := plv("hello", "1.2.0", ready)
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	tests := []struct {
		name    string
		all     []bkv1.PluginVersion
		version string
		want    string // "" for none
	}{
		{"highest lower of the major", []bkv1.PluginVersion{plv("hello", "1.0.0", ready), plv("hello", "1.2.0", ready), plv("hello", "1.1.0", ready)}, "1.3.0", "hello-1.2.0"},
		{"a new major replaces nothing", []bkv1.PluginVersion{plv("hello", "1.2.0", ready)}, "2.0.0", ""},
		{"a higher version is not previous", []bkv1.PluginVersion{plv("hello", "1.4.0", ready)}, "1.3.0", ""},
		{"other plugins are ignored", []bkv1.PluginVersion{plv("other", "1.2.0", ready)}, "1.3.0", ""},
		{"a breaking version is not a promise", []bkv1.PluginVersion{plv("hello", "1.1.0", ready), incompatible(plv("hello", "1.2.0", ready))}, "1.3.0", "hello-1.1.0"},
		{"a duplicate in conflict is skipped", []bkv1.PluginVersion{plv("hello", "1.1.0", ready), plv("hello", "1.2.0", bkv1.VersionReasonConflict)}, "1.3.0", "hello-1.1.0"},
		{"a version being deleted is skipped", []bkv1.PluginVersion{plv("hello", "1.1.0", ready), deleting}, "1.3.0", "hello-1.1.0"},
		{"0.x: the minor is the line", []bkv1.PluginVersion{plv("hello", "0.2.0", ready), plv("hello", "0.3.0", ready)}, "0.3.1", "hello-0.3.0"},
		{"0.x: a new minor replaces nothing", []bkv1.PluginVersion{plv("hello", "0.2.0", ready)}, "0.3.0", ""},
		{"a prerelease below its release", []bkv1.PluginVersion{plv("hello", "1.3.0-rc.1", ready), plv("hello", "1.2.0", ready)}, "1.3.0", "hello-1.3.0-rc.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := plv("hello", tc.version, "")
			got := Previous(tc.all, &v)
			name := ""
			if got != nil {
				name = got.Name
			}
			if name != tc.want {
				t.Errorf("Previous(%s) = %q, want %q", tc.version, name, tc.want)
			}
		})
	}
}

func TestCheckPrevious(t *testing.T) {
	prev := plv("hello", "1.2.0", "")
	prev.Spec.Inputs = &apiextensionsv1.JSON{Raw: []byte(`{"type":"object","properties":{"name":{"type":"string"}}}`)}
	breaking := plv("hello", "1.3.0", "")
	breaking.Spec.Inputs = &apiextensionsv1.JSON{Raw: []byte(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`)}
	r, err := CheckPrevious(&prev, &breaking)
	if err != nil {
		t.Fatal(err)
	}
	if r.Compatible() || len(r.Breaking) != 1 || r.Breaking[0].Rule != compat.RuleRequiredAdded || r.Breaking[0].Path != "inputs.name" {
		t.Errorf("CheckPrevious = %+v, want one required-added at inputs.name", r)
	}
	if r, err := CheckPrevious(nil, &breaking); err != nil || !r.Compatible() {
		t.Errorf("CheckPrevious(nil) = %+v, %v; want compatible", r, err)
	}
}
