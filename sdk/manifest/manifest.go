// Package manifest renders a plugin's PluginVersion objects from its code,
// so that what the cluster knows about a version (schemas, forms, scopes)
// never drifts from what the plugin pod runs:
//
//	hello manifest --service hello --port 80 | kubectl apply -f -
//
// or, with the operator running the plugin's image as a PluginServer, the
// server and its versions in one go:
//
//	hello manifest --image reg.example.com/hello:1.2.0 | kubectl apply -f -
package manifest

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

// Options say where the plugin pod answers and which versions to render.
// Exactly one of Service, URL and Server is required; Image alone implies
// Server (named after the plugin code).
type Options struct {
	// Server names the PluginServer that runs the plugin's image; the
	// versions' endpoints name it.
	Server string
	// Image, when set, also renders the PluginServer running this image.
	Image string
	// Namespace of the objects; left out (kubectl's current namespace) when "".
	Namespace string
	// Service names the Service in front of the plugin pods.
	Service string
	// Port is the Service's port; the CRD's default (80) when zero.
	Port int32
	// URL is the plugin pod's base URL, for pods outside the cluster.
	URL string
	// Versions limits the output to these versions; all when empty.
	Versions []string
	// TimeoutSeconds bounds one call to the plugin pod; the CRD's default
	// when zero.
	TimeoutSeconds int32
}

// Name returns the name of the PluginVersion of a plugin version:
// "<code>-<version with dots replaced by dashes>", such as hello-1-0-0.
func Name(code, version string) string {
	return strings.ToLower(code + "-" + strings.NewReplacer(".", "-", "+", "-").Replace(version))
}

// ServerName is the default name of a plugin's PluginServer: the plugin
// code as a DNS label ("_" becomes "-", and a leading digit gets a
// "plugin-" prefix), such as sops-exec.
func ServerName(code string) string {
	name := strings.ToLower(strings.ReplaceAll(code, "_", "-"))
	if name == "" || name[0] < 'a' || name[0] > 'z' {
		name = "plugin-" + name
	}
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	return name
}

// serverName is the PluginServer opts name, "" when the versions are
// served another way.
func (o Options) serverName(code string) string {
	switch {
	case o.Server != "":
		return o.Server
	case o.Image != "":
		return ServerName(code)
	default:
		return ""
	}
}

// PluginServer returns the PluginServer running opts.Image, named
// opts.Server or after the plugin code; nil when opts has no image.
func PluginServer(p *plugin.Plugin, opts Options) (*v1alpha1.PluginServer, error) {
	if opts.Image == "" {
		return nil, nil
	}
	if opts.Service != "" || opts.URL != "" {
		return nil, fmt.Errorf("manifest of plugin %s: an image runs as a PluginServer; drop the service or URL", p.Meta().Code)
	}
	if strings.ContainsAny(opts.Image, " \t\n") {
		return nil, fmt.Errorf("manifest of plugin %s: image %q contains white space", p.Meta().Code, opts.Image)
	}
	name := opts.serverName(p.Meta().Code)
	return &v1alpha1.PluginServer{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "PluginServer"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: opts.Namespace,
			Labels:    map[string]string{v1alpha1.LabelPlugin: p.Meta().Code},
		},
		Spec: v1alpha1.PluginServerSpec{Image: opts.Image},
	}, nil
}

// PluginVersions returns one PluginVersion per version of p, oldest first.
func PluginVersions(p *plugin.Plugin, opts Options) ([]v1alpha1.PluginVersion, error) {
	server := opts.serverName(p.Meta().Code)
	given := 0
	for _, set := range []bool{opts.Service != "", opts.URL != "", server != ""} {
		if set {
			given++
		}
	}
	if given != 1 {
		return nil, fmt.Errorf("manifest of plugin %s: give exactly one of a service, a URL and a server (or an image)", p.Meta().Code)
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("manifest of plugin %s: port %d is not a TCP port", p.Meta().Code, opts.Port)
	}
	var endpoint v1alpha1.PluginEndpoint
	switch {
	case server != "":
		if opts.Port != 0 {
			return nil, fmt.Errorf("manifest of plugin %s: a PluginServer's Service always listens on port %d; drop the port", p.Meta().Code, v1alpha1.ServerServicePort)
		}
		endpoint.Server = &v1alpha1.ServerReference{Name: server}
	case opts.Service != "":
		endpoint.Service = &v1alpha1.ServiceReference{Name: opts.Service, Port: opts.Port}
	default:
		if !strings.HasPrefix(opts.URL, "http://") && !strings.HasPrefix(opts.URL, "https://") {
			return nil, fmt.Errorf("manifest of plugin %s: URL %q must start with http:// or https://", p.Meta().Code, opts.URL)
		}
		u := opts.URL
		endpoint.URL = &u
	}
	for _, v := range opts.Versions {
		if _, ok := p.Version(v); !ok {
			return nil, fmt.Errorf("manifest of plugin %s: %w: %q", p.Meta().Code, plugin.ErrUnknownVersion, v)
		}
	}
	scopes := allowScopes(p.Meta())
	var out []v1alpha1.PluginVersion
	for _, v := range p.Versions() {
		if len(opts.Versions) > 0 && !slices.Contains(opts.Versions, v.Version) {
			continue
		}
		pv := v1alpha1.PluginVersion{
			TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "PluginVersion"},
			ObjectMeta: metav1.ObjectMeta{
				Name:      Name(p.Meta().Code, v.Version),
				Namespace: opts.Namespace,
				Labels: map[string]string{
					v1alpha1.LabelPlugin:  p.Meta().Code,
					v1alpha1.LabelVersion: v.Version,
				},
			},
			Spec: v1alpha1.PluginVersionSpec{
				Plugin:      p.Meta().Code,
				Version:     v.Version,
				Description: v.Description,
				// The plugin's description on every version, so that
				// meta answers it whichever version is newest.
				PluginDescription:    p.Meta().Description,
				EnablePluginCallback: v.EnablePluginCallback,
				Endpoint:             endpoint,
				Inputs:               &apiextensionsv1.JSON{Raw: v.Inputs},
				ContextInputs:        &apiextensionsv1.JSON{Raw: v.ContextInputs},
				Outputs:              &apiextensionsv1.JSON{Raw: v.Outputs},
				AllowScopes:          scopes,
				TaskJSON:             v.TaskJSON.DeepCopy(),
			},
		}
		if opts.TimeoutSeconds > 0 {
			t := opts.TimeoutSeconds
			pv.Spec.TimeoutSeconds = &t
		}
		if v.Form != "" {
			forms, err := json.Marshal(map[string]string{"renderform": v.Form})
			if err != nil {
				return nil, fmt.Errorf("manifest of %s: forms: %w", pv.Name, err)
			}
			pv.Spec.Forms = &apiextensionsv1.JSON{Raw: forms}
		}
		out = append(out, pv)
	}
	return out, nil
}

// allowScopes turns the plugin's allow_scope into the CR's rules, sorted by
// app code so that the output is the same on every run.
func allowScopes(m plugin.Meta) []v1alpha1.AllowScope {
	var out []v1alpha1.AllowScope
	for app, sc := range m.AllowScope {
		out = append(out, v1alpha1.AllowScope{AppCode: app, ScopeType: sc.Type, ScopeValues: slices.Clone(sc.Value)})
	}
	slices.SortFunc(out, func(a, b v1alpha1.AllowScope) int { return strings.Compare(a.AppCode, b.AppCode) })
	return out
}

// Write prints the PluginServer (when opts has an image) and the
// PluginVersions of p as YAML documents separated by "---", ready for
// kubectl apply -f -.
func Write(w io.Writer, p *plugin.Plugin, opts Options) error {
	srv, err := PluginServer(p, opts)
	if err != nil {
		return err
	}
	pvs, err := PluginVersions(p, opts)
	if err != nil {
		return err
	}
	var objs []namedObject
	if srv != nil {
		objs = append(objs, namedObject{srv.Name, srv})
	}
	for i := range pvs {
		objs = append(objs, namedObject{pvs[i].Name, pvs[i]})
	}
	for i, o := range objs {
		doc, err := toYAML(o.obj)
		if err != nil {
			return fmt.Errorf("manifest of %s: %w", o.name, err)
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(doc); err != nil {
			return err
		}
	}
	return nil
}

// namedObject is an object to print and the name its errors mention.
type namedObject struct {
	name string
	obj  any
}

// toYAML marshals an object without the empty status and creation
// timestamp that the Go types always carry: they are noise in a manifest
// meant to be read and applied.
func toYAML(obj any) ([]byte, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return yaml.Marshal(m)
}
