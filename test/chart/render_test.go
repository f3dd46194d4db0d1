package chart

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	chartcommon "helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// chartDir is the chart, seen from this package.
const chartDir = "../../charts/bk-plugin-operator"

// Where the test installs the release and what it watches by default.
const (
	releaseName      = "bkp"
	releaseNamespace = "bk-plugin-system"
)

// loadChart loads the chart from disk, as helm install ./chart does.
func loadChart(t *testing.T) *chartv2.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load %s: %v", chartDir, err)
	}
	return ch
}

// renderChart renders the chart's templates with vals (over values.yaml)
// as `helm template` would, and returns the objects, or the error.
func renderChart(t *testing.T, vals map[string]any) ([]*unstructured.Unstructured, error) {
	t.Helper()
	ch := loadChart(t)
	rv, err := chartutil.ToRenderValues(ch, vals, chartcommon.ReleaseOptions{
		Name: releaseName, Namespace: releaseNamespace, IsInstall: true, Revision: 1,
	}, chartcommon.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var objs []*unstructured.Unstructured
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		objs = append(objs, decodeAll(t, name, files[name])...)
	}
	return objs, nil
}

// mustRender is renderChart that fails the test on an error.
func mustRender(t *testing.T, vals map[string]any) []*unstructured.Unstructured {
	t.Helper()
	objs, err := renderChart(t, vals)
	if err != nil {
		t.Fatalf("render the chart with %v: %v", vals, err)
	}
	return objs
}

// crds returns the chart's CRDs (crds/), which Helm installs before the
// templates.
func crds(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, c := range loadChart(t).CRDObjects() {
		objs = append(objs, decodeAll(t, c.Filename, string(c.File.Data))...)
	}
	return objs
}

// decodeAll decodes every non-empty YAML document of a file.
func decodeAll(t *testing.T, name, text string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(text)), 4096)
	var objs []*unstructured.Unstructured
	for {
		o := &unstructured.Unstructured{}
		if err := dec.Decode(&o.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("%s does not decode: %v\n%s", name, err, text)
		}
		if len(o.Object) > 0 {
			objs = append(objs, o)
		}
	}
	return objs
}

// find returns the object of a kind and name, or fails.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	if o := lookup(objs, kind, name); o != nil {
		return o
	}
	var have []string
	for _, o := range objs {
		have = append(have, o.GetKind()+"/"+o.GetName())
	}
	t.Fatalf("no %s %s among %v", kind, name, have)
	return nil
}

// lookup returns the object of a kind and name, or nil.
func lookup(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// kinds counts the rendered objects of each kind.
func kinds(objs []*unstructured.Unstructured) map[string]int {
	n := map[string]int{}
	for _, o := range objs {
		n[o.GetKind()]++
	}
	return n
}

// repoPath is a path relative to the repository root.
func repoPath(rel string) string { return filepath.Join("../..", rel) }
