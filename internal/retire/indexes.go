package retire

import (
	"context"
	"fmt"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// Field indexes this package lists by. SetupIndexes registers them.
const (
	// IndexInvocationVersion indexes live PluginInvocations by
	// VersionKey(plugin, version) of the version they run: the resolved
	// version, or an exact spec.version not resolved yet. Terminal
	// invocations are not indexed, so a list by it is a list of live work.
	IndexInvocationVersion = "bkplugin.io/live-invocation-version"
	// IndexVersionServer indexes PluginVersions by the PluginServer their
	// endpoint names.
	IndexVersionServer = "spec.endpoint.server.name"
)

// VersionKey is the index value of a plugin's version, "<plugin>@<version>".
func VersionKey(plugin, version string) string { return plugin + "@" + version }

// SetupIndexes registers the indexes of this package. Call it once per
// manager, before the manager starts.
func SetupIndexes(ctx context.Context, indexer client.FieldIndexer) error {
	if err := indexer.IndexField(ctx, &bkv1.PluginInvocation{}, IndexInvocationVersion, func(o client.Object) []string {
		inv, ok := o.(*bkv1.PluginInvocation)
		if !ok {
			return nil
		}
		if k := liveVersionKey(inv); k != "" {
			return []string{k}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("index PluginInvocations by %s: %w", IndexInvocationVersion, err)
	}
	if err := indexer.IndexField(ctx, &bkv1.PluginVersion{}, IndexVersionServer, func(o client.Object) []string {
		plv, ok := o.(*bkv1.PluginVersion)
		if !ok || plv.Spec.Endpoint.Server == nil {
			return nil
		}
		return []string{plv.Spec.Endpoint.Server.Name}
	}); err != nil {
		return fmt.Errorf("index PluginVersions by %s: %w", IndexVersionServer, err)
	}
	return nil
}

// liveVersionKey is the index value of inv: "" for a finished or deleted
// invocation, or one whose version is a constraint not resolved yet (it has
// not picked a version, so it holds none).
func liveVersionKey(inv *bkv1.PluginInvocation) string {
	if inv.Status.State.Terminal() || !inv.DeletionTimestamp.IsZero() {
		return ""
	}
	v := inv.Status.ResolvedVersion
	if v == "" {
		// An exact version will resolve to that version and nothing else;
		// counting it before its first reconcile closes the window in
		// which a deletion could slip between its creation and resolution.
		sv, err := semver.StrictNewVersion(inv.Spec.Version)
		if err != nil {
			return ""
		}
		v = sv.String()
	}
	return VersionKey(inv.Spec.Plugin, v)
}
