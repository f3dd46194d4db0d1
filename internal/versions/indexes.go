package versions

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// IndexPluginVersionPlugin indexes PluginVersions by spec.plugin, so that the
// versions of one plugin are listed from the cache with
// client.MatchingFields{IndexPluginVersionPlugin: code} instead of a scan of
// every version in the namespace.
const IndexPluginVersionPlugin = "spec.plugin"

// SetupIndexes registers the field indexes the reconcilers list by. Call it
// once per manager, before the manager starts.
func SetupIndexes(ctx context.Context, indexer client.FieldIndexer) error {
	err := indexer.IndexField(ctx, &bkv1.PluginVersion{}, IndexPluginVersionPlugin, func(o client.Object) []string {
		plv, ok := o.(*bkv1.PluginVersion)
		if !ok || plv.Spec.Plugin == "" {
			return nil
		}
		return []string{plv.Spec.Plugin}
	})
	if err != nil {
		return fmt.Errorf("index PluginVersions by %s: %w", IndexPluginVersionPlugin, err)
	}
	return nil
}
