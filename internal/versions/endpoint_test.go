package versions

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func TestEndpointURL(t *testing.T) {
	str := func(s string) *string { return &s }
	svc := func(name string, port int32) *bkv1.ServiceReference {
		return &bkv1.ServiceReference{Name: name, Port: port}
	}
	viaProxy := func(ns, name string, port int32) string {
		return fmt.Sprintf("http://127.0.0.1:8001/api/v1/namespaces/%s/services/%s:%d/proxy/", ns, name, port)
	}
	tests := []struct {
		name    string
		ep      bkv1.PluginEndpoint
		domain  string
		resolve func(ns, name string, port int32) string
		want    string
		wantErr string
	}{
		{name: "service on cluster DNS", ep: bkv1.PluginEndpoint{Service: svc("hello", 8080)},
			want: "http://hello.plugins.svc.cluster.local:8080"},
		{name: "service on a custom cluster domain", ep: bkv1.PluginEndpoint{Service: svc("hello", 8080)},
			domain: "corp.example", want: "http://hello.plugins.svc.corp.example:8080"},
		{name: "service without a port takes the CRD default", ep: bkv1.PluginEndpoint{Service: svc("hello", 0)},
			want: "http://hello.plugins.svc.cluster.local:80"},
		{name: "service through a resolver, trailing slash trimmed", ep: bkv1.PluginEndpoint{Service: svc("hello", 80)},
			domain: "ignored.example", resolve: viaProxy,
			want: "http://127.0.0.1:8001/api/v1/namespaces/plugins/services/hello:80/proxy"},
		{name: "resolver answering nothing", ep: bkv1.PluginEndpoint{Service: svc("hello", 80)},
			resolve: func(string, string, int32) string { return "" }, wantErr: "service hello port 80 resolved to no URL"},
		{name: "url as is", ep: bkv1.PluginEndpoint{URL: str("https://plugins.example.com:8443/hello")},
			want: "https://plugins.example.com:8443/hello"},
		{name: "url with trailing slashes", ep: bkv1.PluginEndpoint{URL: str("http://10.0.0.5:8080//")},
			want: "http://10.0.0.5:8080"},
		{name: "url ignores the resolver", ep: bkv1.PluginEndpoint{URL: str("http://10.0.0.5:8080")},
			resolve: viaProxy, want: "http://10.0.0.5:8080"},
		{name: "relative url", ep: bkv1.PluginEndpoint{URL: str("/hello")}, wantErr: `url "/hello" is not an absolute http or https URL`},
		{name: "url of another scheme", ep: bkv1.PluginEndpoint{URL: str("ftp://10.0.0.5/")}, wantErr: "is not an absolute http or https URL"},
		{name: "url that does not parse", ep: bkv1.PluginEndpoint{URL: str("http://[::1")}, wantErr: `url "http://[::1"`},
		{name: "server: the Service it owns, on port 80", ep: bkv1.PluginEndpoint{Server: &bkv1.ServerReference{Name: "hello"}},
			want: "http://hello.plugins.svc.cluster.local:80"},
		{name: "server through a resolver", ep: bkv1.PluginEndpoint{Server: &bkv1.ServerReference{Name: "hello"}},
			resolve: viaProxy, want: "http://127.0.0.1:8001/api/v1/namespaces/plugins/services/hello:80/proxy"},
		{name: "server beside a url", ep: bkv1.PluginEndpoint{Server: &bkv1.ServerReference{Name: "hello"}, URL: str("http://10.0.0.5")},
			wantErr: "server is set beside a service or url"},
		{name: "neither", wantErr: "neither service nor url is set"},
		{name: "both", ep: bkv1.PluginEndpoint{Service: svc("hello", 80), URL: str("http://10.0.0.5")}, wantErr: "both service and url are set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &bkv1.PluginVersion{
				ObjectMeta: metav1.ObjectMeta{Namespace: "plugins", Name: "hello-1-0-0"},
				Spec:       bkv1.PluginVersionSpec{Plugin: "hello", Version: "1.0.0", Endpoint: tt.ep},
			}
			got, err := EndpointURL(v, tt.domain, tt.resolve)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("EndpointURL = %q, want an error containing %q", got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "plugins/hello-1-0-0") {
					t.Errorf("EndpointURL error = %q, want it to name plugins/hello-1-0-0 and contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("EndpointURL: %v", err)
			}
			if got != tt.want {
				t.Errorf("EndpointURL = %q, want %q", got, tt.want)
			}
		})
	}
}
