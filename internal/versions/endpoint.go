package versions

import (
	"fmt"
	"net/url"
	"strings"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// DefaultClusterDomain is the DNS domain of in-cluster Services.
const DefaultClusterDomain = "cluster.local"

// defaultServicePort is the CRD's default Service port, applied here too so
// that an object written before defaulting still resolves.
const defaultServicePort int32 = 80

// EndpointURL returns the base URL of the plugin pod serving plv, without a
// trailing slash: a URL endpoint as written, or a Service endpoint as
// http://<name>.<namespace>.svc.<clusterDomain>:<port>; a server endpoint is
// the Service its PluginServer owns. resolveService, when
// not nil, replaces cluster DNS for Services (a manager running outside the
// cluster reaches them another way). clusterDomain "" means
// DefaultClusterDomain.
func EndpointURL(plv *bkv1.PluginVersion, clusterDomain string, resolveService func(ns, name string, port int32) string) (string, error) {
	ep := plv.Spec.Endpoint
	// A server endpoint is the Service the PluginServer owns.
	svc := ep.ServiceRef()
	switch {
	case ep.Service != nil && ep.URL != nil:
		return "", fmt.Errorf("endpoint of PluginVersion %s/%s: both service and url are set; set exactly one", plv.Namespace, plv.Name)
	case ep.Server != nil && (ep.Service != nil || ep.URL != nil):
		return "", fmt.Errorf("endpoint of PluginVersion %s/%s: server is set beside a service or url; set exactly one", plv.Namespace, plv.Name)
	case svc != nil:
		port := svc.Port
		if port == 0 {
			port = defaultServicePort
		}
		var base string
		if resolveService != nil {
			base = resolveService(plv.Namespace, svc.Name, port)
		} else {
			if clusterDomain == "" {
				clusterDomain = DefaultClusterDomain
			}
			base = fmt.Sprintf("http://%s.%s.svc.%s:%d", svc.Name, plv.Namespace, clusterDomain, port)
		}
		base = strings.TrimRight(base, "/")
		if base == "" {
			return "", fmt.Errorf("endpoint of PluginVersion %s/%s: service %s port %d resolved to no URL", plv.Namespace, plv.Name, svc.Name, port)
		}
		return base, nil
	case ep.URL != nil:
		// The CRD already admits only absolute http(s) URLs; checking again
		// keeps a bad object from turning into requests to odd places.
		u, err := url.Parse(*ep.URL)
		if err != nil {
			return "", fmt.Errorf("endpoint of PluginVersion %s/%s: url %q: %w", plv.Namespace, plv.Name, *ep.URL, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("endpoint of PluginVersion %s/%s: url %q is not an absolute http or https URL", plv.Namespace, plv.Name, *ep.URL)
		}
		return strings.TrimRight(*ep.URL, "/"), nil
	default:
		return "", fmt.Errorf("endpoint of PluginVersion %s/%s: neither service nor url is set, nor server", plv.Namespace, plv.Name)
	}
}
