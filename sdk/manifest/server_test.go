package manifest_test

import (
	"bytes"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
)

// An image renders a PluginServer named after the plugin, then every
// version naming it: the whole registration in one apply.
func TestWriteImage(t *testing.T) {
	var out bytes.Buffer
	if err := manifest.Write(&out, helloplugin.Plugin(), manifest.Options{Image: "reg.example.com/hello:1.2.0", Namespace: "demo"}); err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(out.String(), "---\n")
	var srv v1alpha1.PluginServer
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &srv); err != nil {
		t.Fatalf("first document is not a PluginServer: %v\n%s", err, docs[0])
	}
	if srv.Kind != "PluginServer" || srv.Name != "hello" || srv.Namespace != "demo" || srv.Spec.Image != "reg.example.com/hello:1.2.0" {
		t.Errorf("server %s %s/%s image %s; want PluginServer demo/hello running the image", srv.Kind, srv.Namespace, srv.Name, srv.Spec.Image)
	}
	if strings.Contains(docs[0], "status") || strings.Contains(docs[0], "creationTimestamp") || strings.Contains(docs[0], "resources") {
		t.Errorf("the server's document carries status, a timestamp or empty resources:\n%s", docs[0])
	}
	pvs := parse(t, strings.Join(docs[1:], "---\n"))
	if len(pvs) != len(helloplugin.Plugin().Versions()) {
		t.Fatalf("%d versions, want every version of the plugin", len(pvs))
	}
	for _, pv := range pvs {
		ep := pv.Spec.Endpoint
		if ep.Server == nil || ep.Server.Name != "hello" || ep.Service != nil || ep.URL != nil {
			t.Errorf("%s endpoint %+v: want server hello only", pv.Name, ep)
		}
	}
	// What Read (and so --check-against) reads back is the versions alone.
	read, err := manifest.Read(&out)
	if err != nil || len(read) != len(pvs) {
		t.Errorf("Read = %d versions, %v; want %d", len(read), err, len(pvs))
	}
}

func TestServerOptions(t *testing.T) {
	p := helloplugin.Plugin()
	named, err := manifest.PluginServer(p, manifest.Options{Image: "img:1", Server: "greeter"})
	if err != nil || named.Name != "greeter" {
		t.Errorf("--server names the server: %v, %v", named, err)
	}
	pvs, err := manifest.PluginVersions(p, manifest.Options{Server: "greeter"})
	if err != nil || pvs[0].Spec.Endpoint.Server.Name != "greeter" {
		t.Errorf("a server without an image: %v", err)
	}
	if srv, err := manifest.PluginServer(p, manifest.Options{Server: "greeter"}); srv != nil || err != nil {
		t.Errorf("no image, yet a server: %v, %v", srv, err)
	}
	for name, opts := range map[string]manifest.Options{
		"image and service":    {Image: "img:1", Service: "hello"},
		"image and url":        {Image: "img:1", URL: "http://x"},
		"server and a port":    {Server: "greeter", Port: 8080},
		"image with a space":   {Image: "img :1"},
		"server and a service": {Server: "greeter", Service: "hello"},
	} {
		var out bytes.Buffer
		if err := manifest.Write(&out, p, opts); err == nil {
			t.Errorf("%s: no error, printed\n%s", name, out.String())
		}
	}
}

func TestServerName(t *testing.T) {
	for code, want := range map[string]string{
		"hello":     "hello",
		"sops_exec": "sops-exec",
		"1click":    "plugin-1click",
		"Upper":     "upper",
	} {
		if got := manifest.ServerName(code); got != want {
			t.Errorf("ServerName(%q) = %q, want %q", code, got, want)
		}
	}
}
