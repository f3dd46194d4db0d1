// Package protocol defines the plugin pod protocol: the wire contract between
// the bk-plugin-operator manager and a plugin pod served by the SDK.
//
// Plugin pods are stateless. Every execute request carries the whole context
// of the invocation (state, invoke count, inputs, context data, storage,
// outputs and, in CALLBACK state, the callback being delivered); the answer
// carries the new state, outputs, storage, poll interval, prepared callbacks
// and error. The manager keeps all of it in the PluginInvocation's status, so
// any plugin pod replica can serve any execute.
//
// The protocol is versioned by [Version]; docs/protocol.md describes it for
// implementers in other languages.
package protocol
