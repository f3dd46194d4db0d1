// Package retirement keeps PluginVersions that live invocations use from
// being deleted out from under them: it puts the retire finalizer on every
// version and, once a version is deleted, releases it when its last live
// invocation finishes or its grace period passes, saying why it waits in a
// Retiring condition and in events. The decision is retire.Decide; this
// package loads, decides and writes. While a version is being deleted it is
// the only writer of the version's status (the PluginVersion reconciler
// leaves deleted versions alone).
package retirement
