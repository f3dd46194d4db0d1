// Package retire is the one home of "retiring safely": a PluginVersion or a
// PluginServer that live invocations still use is not deleted out from under
// them. It holds the field indexes that find those invocations, the queries
// over them and the pure decision of whether a deletion may complete; the
// reconcilers of both kinds use it behind their RetireFinalizer.
package retire
