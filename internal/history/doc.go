// Package history is what both binaries put in the history archive
// (internal/archive): the archive record of a finished PluginInvocation,
// masked exactly as its status is, and the bounds on the plugin log lines
// an invocation keeps until it is archived. It is pure: no client, no
// database; the manager and the shim call it and write the result.
//
// It sits below both binaries (it imports the API types and the archive,
// never a reconciler or the shim), so that a record reads the same
// whichever process wrote it.
package history
