package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

// Read reads the PluginVersions of a manifest: YAML documents separated by
// "---" as Write prints them, JSON, or a List as "kubectl get
// pluginversions -o yaml" prints it. Objects of other kinds are skipped.
func Read(r io.Reader) ([]v1alpha1.PluginVersion, error) {
	yr := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out []v1alpha1.PluginVersion
	for n := 1; ; n++ {
		doc, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read manifest document %d: %w", n, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("read manifest document %d: %w", n, err)
		}
		pvs, err := pluginVersions(j)
		if err != nil {
			return nil, fmt.Errorf("read manifest document %d: %w", n, err)
		}
		out = append(out, pvs...)
	}
}

// pluginVersions decodes one document: a PluginVersion, a List of
// objects, or anything else (nothing).
func pluginVersions(doc []byte) ([]v1alpha1.PluginVersion, error) {
	if string(bytes.TrimSpace(doc)) == "null" {
		return nil, nil
	}
	var head struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Items      []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(doc, &head); err != nil {
		return nil, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	switch {
	case head.Kind == "PluginVersion" && head.APIVersion == v1alpha1.GroupVersion.String():
		var pv v1alpha1.PluginVersion
		if err := json.Unmarshal(doc, &pv); err != nil {
			return nil, fmt.Errorf("PluginVersion: %w", err)
		}
		return []v1alpha1.PluginVersion{pv}, nil
	case strings.HasSuffix(head.Kind, "List"):
		var out []v1alpha1.PluginVersion
		for i, item := range head.Items {
			pvs, err := pluginVersions(item)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out = append(out, pvs...)
		}
		return out, nil
	}
	return nil, nil
}

// Check is one version of the code compared with the published version it
// replaces.
type Check struct {
	// Version is the code's version.
	Version string
	// Against is the published version compared with: the highest of the
	// same major not above Version (Version itself when it is published,
	// as a served version must not change). "" when there is none.
	Against string
	// Name is the published PluginVersion's name, "" when Against is "".
	Name string
	// Report lists the changes from Against to Version.
	Report compat.Report
}

// CheckAgainst compares every version of p (or only those in versions)
// with the published version of the same major it replaces, among the
// published PluginVersions of p's plugin. Published versions of other
// plugins are ignored.
func CheckAgainst(p *plugin.Plugin, published []v1alpha1.PluginVersion, versions []string) ([]Check, error) {
	code := p.Meta().Code
	type pub struct {
		v  *semver.Version
		pv *v1alpha1.PluginVersion
	}
	var pubs []pub
	for i := range published {
		pv := &published[i]
		if pv.Spec.Plugin != code {
			continue
		}
		v, err := semver.StrictNewVersion(pv.Spec.Version)
		if err != nil {
			return nil, fmt.Errorf("published PluginVersion %s: version %q is not semver: %w", pv.Name, pv.Spec.Version, err)
		}
		pubs = append(pubs, pub{v, pv})
	}
	for _, v := range versions {
		if _, ok := p.Version(v); !ok {
			return nil, fmt.Errorf("check plugin %s: %w: %q", code, plugin.ErrUnknownVersion, v)
		}
	}
	var out []Check
	for _, info := range p.Versions() {
		if len(versions) > 0 && !slices.Contains(versions, info.Version) {
			continue
		}
		v, err := semver.StrictNewVersion(info.Version)
		if err != nil {
			return nil, fmt.Errorf("check plugin %s: version %q is not semver: %w", code, info.Version, err)
		}
		c := Check{Version: info.Version}
		var prev *pub
		for i := range pubs {
			cand := &pubs[i]
			if cand.v.Major() != v.Major() || cand.v.GreaterThan(v) {
				continue
			}
			if prev == nil || cand.v.GreaterThan(prev.v) {
				prev = cand
			}
		}
		if prev != nil {
			c.Against, c.Name = prev.pv.Spec.Version, prev.pv.Name
			r, err := compat.Compare(compat.FromSpec(&prev.pv.Spec), compat.Version{
				Inputs:        info.Inputs,
				ContextInputs: info.ContextInputs,
				Outputs:       info.Outputs,
				TaskJSON:      info.TaskJSON,
			})
			if err != nil {
				return nil, fmt.Errorf("check %s %s against %s: %w", code, info.Version, prev.pv.Name, err)
			}
			c.Report = r
		}
		out = append(out, c)
	}
	return out, nil
}

// IncompatibleError says which versions break callers of the versions
// they replace; the checks say how.
type IncompatibleError struct {
	// Versions lists "<version> (against <published>)" for each failing check.
	Versions []string
}

func (e *IncompatibleError) Error() string {
	return fmt.Sprintf("%d version(s) break callers of the version they replace: %s; give a breaking change a new major version",
		len(e.Versions), strings.Join(e.Versions, ", "))
}

// WriteChecks prints the checks, one header a version and one line a
// finding, and returns an *IncompatibleError when any version breaks
// callers (nil otherwise, or the write's error).
func WriteChecks(w io.Writer, code string, checks []Check) error {
	var bad []string
	for _, c := range checks {
		if c.Against == "" {
			v, err := semver.StrictNewVersion(c.Version)
			major := "?"
			if err == nil {
				major = fmt.Sprint(v.Major())
			}
			if _, err := fmt.Fprintf(w, "%s %s: no published %s.x version at or below it; nothing to check\n", code, c.Version, major); err != nil {
				return err
			}
			continue
		}
		verdict := "compatible"
		if n := len(c.Report.Breaking); n > 0 {
			verdict = fmt.Sprintf("%d breaking change(s)", n)
			bad = append(bad, fmt.Sprintf("%s (against %s)", c.Version, c.Against))
		}
		if _, err := fmt.Fprintf(w, "%s %s against %s (%s): %s\n", code, c.Version, c.Against, c.Name, verdict); err != nil {
			return err
		}
		if err := c.Report.Write(w, "  "); err != nil {
			return err
		}
	}
	if len(bad) > 0 {
		return &IncompatibleError{Versions: bad}
	}
	return nil
}
