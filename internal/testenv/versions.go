package testenv

import (
	"context"
	"fmt"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

// RegisterVersions creates the PluginVersions the plugin's own manifest
// command prints for versions (all when none), pointing at url, as a user
// would with kubectl apply.
func RegisterVersions(ctx context.Context, c client.Client, ns string, p *plugin.Plugin, url string, versions ...string) ([]bkv1.PluginVersion, error) {
	plvs, err := manifest.PluginVersions(p, manifest.Options{Namespace: ns, URL: url, Versions: versions})
	if err != nil {
		return nil, fmt.Errorf("manifest of plugin %s: %w", p.Meta().Code, err)
	}
	for i := range plvs {
		if err := c.Create(ctx, &plvs[i]); err != nil {
			return nil, fmt.Errorf("create PluginVersion %s/%s: %w", ns, plvs[i].Name, err)
		}
	}
	return plvs, nil
}

// Ready returns nil once the PluginVersion key is Ready, else an error
// saying what its conditions are; specs poll it with Eventually.
func Ready(ctx context.Context, c client.Client, key client.ObjectKey) error {
	got := &bkv1.PluginVersion{}
	if err := c.Get(ctx, key, got); err != nil {
		return err
	}
	if apimeta.IsStatusConditionPresentAndEqual(got.Status.Conditions, bkv1.ConditionReady, metav1.ConditionTrue) {
		return nil
	}
	return fmt.Errorf("PluginVersion %s is not Ready: %+v", key, got.Status.Conditions)
}
