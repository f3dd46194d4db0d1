package shim

import (
	"fmt"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
)

// pods locates plugin pods the way the manager does.
type pods struct {
	clusterDomain  string
	resolveService func(namespace, name string, port int32) string
}

// endpoint returns the base URL of the plugin pod serving plv.
func (p pods) endpoint(plv *bkv1.PluginVersion) (string, error) {
	u, err := versions.EndpointURL(plv, p.clusterDomain, p.resolveService)
	if err != nil {
		return "", fmt.Errorf("locate the plugin pod of %s %s: %w", plv.Spec.Plugin, plv.Spec.Version, err)
	}
	return u, nil
}
