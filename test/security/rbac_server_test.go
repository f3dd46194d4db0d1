package security

// serverDirs hold the manager's PluginServer, retirement and shared
// retirement code (issue 18).
var serverDirs = []string{"internal/controller/server", "internal/controller/retirement", "internal/retire"}

// serverUses are the manager's calls for PluginServers and for retiring
// versions and servers safely.
var serverUses = []use{
	{"bkplugin.io", "pluginservers", "get", "internal/controller/server/controller.go", "r.Get(ctx, req.NamespacedName, srv)", ""},
	{"bkplugin.io", "pluginservers", "get", "internal/controller/server/controller.go", "r.Get(ctx, key, srv)", "is a server of a finished invocation being deleted"},
	{"bkplugin.io", "pluginservers", "get", "internal/controller/version/server.go", "r.Get(ctx, key, srv)", "the server a version names"},
	{"bkplugin.io", "pluginservers", "list", "", "", "the controllers' informer"},
	{"bkplugin.io", "pluginservers", "watch", "", "", "the controllers' informer"},
	{"bkplugin.io", "pluginservers", "patch", "internal/controller/server/controller.go", "r.Patch(ctx, srv, client.MergeFrom(orig))", "add the retire finalizer"},
	{"bkplugin.io", "pluginservers", "patch", "internal/controller/server/controller.go", "r.Patch(ctx, srv, client.MergeFrom(patchBase))", "remove the retire finalizer"},
	{"bkplugin.io", "pluginservers/status", "patch", "internal/controller/server/controller.go", "r.Status().Patch(ctx, srv, client.MergeFrom(orig))", "conditions, replicas, endpoint"},
	{"bkplugin.io", "pluginservers/finalizers", "update", "", "", "owner references with blockOwnerDeletion need it where OwnerReferencesPermissionEnforcement is on"},
	{"apps", "deployments", "get", "internal/controller/server/controller.go", "r.Get(ctx, key, actual)", "the server's Deployment"},
	{"apps", "deployments", "list", "", "", "the Owns informer"},
	{"apps", "deployments", "watch", "", "", "the Owns informer"},
	{"apps", "deployments", "create", "internal/controller/server/controller.go", "r.Create(ctx, desired)", "the server's Deployment"},
	{"apps", "deployments", "update", "internal/controller/server/controller.go", "r.Update(ctx, actual)", "rollout on spec change"},
	{"", "services", "get", "internal/controller/server/controller.go", "r.Get(ctx, key, actual)", "the server's Service"},
	{"", "services", "list", "", "", "the Owns informer"},
	{"", "services", "watch", "", "", "the Owns informer"},
	{"", "services", "create", "internal/controller/server/controller.go", "r.Create(ctx, desired)", "the server's Service"},
	{"", "services", "update", "internal/controller/server/controller.go", "r.Update(ctx, actual)", "the Service's selector and ports"},
	{"autoscaling", "horizontalpodautoscalers", "get", "internal/controller/server/controller.go", "r.Get(ctx, client.ObjectKeyFromObject(srv), actual)", "an autoscaler to remove"},
	{"autoscaling", "horizontalpodautoscalers", "list", "", "", "the Owns informer"},
	{"autoscaling", "horizontalpodautoscalers", "watch", "", "", "the Owns informer"},
	{"autoscaling", "horizontalpodautoscalers", "create", "internal/controller/server/controller.go", "r.Create(ctx, desired)", "the server's autoscaler"},
	{"autoscaling", "horizontalpodautoscalers", "update", "internal/controller/server/controller.go", "r.Update(ctx, actual)", "new bounds"},
	{"autoscaling", "horizontalpodautoscalers", "delete", "internal/controller/server/controller.go", "r.Delete(ctx, actual)", "back to fixed replicas"},
	{"bkplugin.io", "pluginversions", "get", "internal/controller/retirement/controller.go", "r.Get(ctx, req.NamespacedName, plv)", ""},
	{"bkplugin.io", "pluginversions", "patch", "internal/controller/retirement/controller.go", "r.Patch(ctx, plv, client.MergeFrom(orig))", "add the retire finalizer"},
	{"bkplugin.io", "pluginversions", "patch", "internal/controller/retirement/controller.go", "r.Patch(ctx, plv, client.MergeFrom(base))", "remove the retire finalizer"},
	{"bkplugin.io", "pluginversions/status", "patch", "internal/controller/retirement/controller.go", "r.Status().Patch(ctx, plv, client.MergeFrom(orig))", "the Retiring condition"},
	{"bkplugin.io", "pluginversions", "list", "internal/retire/usage.go", "c.List(ctx, &list, client.InNamespace(ns), client.MatchingFields{IndexVersionServer: name})", "the versions of a server"},
	{"bkplugin.io", "pluginversions", "list", "internal/retire/usage.go", "c.List(ctx, &list, client.InNamespace(inv.Namespace), client.MatchingFields{versions.IndexPluginVersionPlugin: inv.Spec.Plugin})", "the versions an invocation holds"},
	{"bkplugin.io", "plugininvocations", "list", "internal/retire/usage.go", "c.List(ctx, &list, client.InNamespace(plv.Namespace),", "the live invocations of a version"},
}
