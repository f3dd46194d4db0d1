package retire

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
)

// LiveInvocations counts the live invocations of plv, from the cache's
// IndexInvocationVersion.
func LiveInvocations(ctx context.Context, c client.Reader, plv *bkv1.PluginVersion) (int, error) {
	var list bkv1.PluginInvocationList
	if err := c.List(ctx, &list, client.InNamespace(plv.Namespace),
		client.MatchingFields{IndexInvocationVersion: VersionKey(plv.Spec.Plugin, plv.Spec.Version)}); err != nil {
		return 0, fmt.Errorf("list live invocations of PluginVersion %s/%s: %w", plv.Namespace, plv.Name, err)
	}
	return len(list.Items), nil
}

// VersionsOfServer lists the PluginVersions of namespace ns whose endpoint
// names the PluginServer name, from the cache's IndexVersionServer.
func VersionsOfServer(ctx context.Context, c client.Reader, ns, name string) ([]bkv1.PluginVersion, error) {
	var list bkv1.PluginVersionList
	if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingFields{IndexVersionServer: name}); err != nil {
		return nil, fmt.Errorf("list PluginVersions of PluginServer %s/%s: %w", ns, name, err)
	}
	return list.Items, nil
}

// ServerInvocations counts the live invocations of every version the
// PluginServer ns/name serves.
func ServerInvocations(ctx context.Context, c client.Reader, ns, name string) (int, error) {
	versions, err := VersionsOfServer(ctx, c, ns, name)
	if err != nil {
		return 0, err
	}
	total := 0
	for i := range versions {
		n, err := LiveInvocations(ctx, c, &versions[i])
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// VersionsUsedBy lists the PluginVersions an invocation holds: those of its
// namespace registering its plugin and the version it runs. It maps
// invocation events to the versions (and through them the servers) whose
// retirement waits on it. versions.SetupIndexes must have run.
func VersionsUsedBy(ctx context.Context, c client.Reader, inv *bkv1.PluginInvocation) ([]bkv1.PluginVersion, error) {
	v := inv.Status.ResolvedVersion
	if v == "" {
		v = inv.Spec.Version
	}
	var list bkv1.PluginVersionList
	if err := c.List(ctx, &list, client.InNamespace(inv.Namespace), client.MatchingFields{versions.IndexPluginVersionPlugin: inv.Spec.Plugin}); err != nil {
		return nil, fmt.Errorf("list PluginVersions of plugin %s in namespace %s: %w", inv.Spec.Plugin, inv.Namespace, err)
	}
	out := list.Items[:0]
	for _, plv := range list.Items {
		if plv.Spec.Plugin == inv.Spec.Plugin && plv.Spec.Version == v {
			out = append(out, plv)
		}
	}
	return out, nil
}
