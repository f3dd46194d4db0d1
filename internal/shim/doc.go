// Package shim is the standard plugin API shim: it serves the BlueKing
// standard plugin HTTP API under /plugins/{code} and turns every call into
// reads and writes of PluginVersions and PluginInvocations in one namespace.
// The manager (cmd/manager) does the executing, but for the first execute
// of a synchronous invoke on the direct path (--sync-invoke=direct,
// direct.go), which the shim makes and records itself: in the archive for
// a call that finished, in the PluginInvocation's status for one that goes
// on. The shim keeps no state of its own, so any number of replicas can
// serve and any can crash.
//
// Reads come from a shared informer cache; an invoke waits for the first
// execute through that cache's event handler, never through a watch of its
// own, so that a burst of invokes costs the API server nothing but creates.
//
// The RBAC markers below are the shim's whole footprint; `make manifests`
// writes them to config/rbac/shim as the ClusterRole shim-role.
//
// +kubebuilder:rbac:groups=bkplugin.io,resources=plugininvocations,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=bkplugin.io,resources=plugininvocations/status,verbs=update
// +kubebuilder:rbac:groups=bkplugin.io,resources=pluginversions,verbs=list;watch
// +kubebuilder:rbac:groups=core,resources=secrets,verbs=get;create;update;delete
package shim
