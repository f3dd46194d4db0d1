// Package pluginexec is the execute call to a plugin pod and what its answer
// does to an invocation, shared by the two binaries that make it: the
// manager's invocation reconciler (every execute of the cluster path) and
// the shim (the first execute of a synchronous invoke on the direct path,
// --sync-invoke=direct). Both speak the same protocol through one Caller
// (pooled keep-alive client, no redirects, the execute token, typed
// transport errors), scrub and mask an answer the same way (MaskAnswer) and
// turn it into the same status (Apply, Finalize), so an invocation reads
// the same whichever binary made its first execute.
//
// The package is pure but for Caller.Execute, which does the HTTP call; it
// imports neither the shim nor a reconciler.
package pluginexec
