// Package schema generates JSON Schemas from Go types and validates JSON
// documents against them.
//
// It serves two callers with one implementation, so that a plugin pod and the
// manager can never disagree about what valid inputs are:
//
//   - the SDK, which generates the Inputs, ContextInputs and Outputs schemas of
//     a plugin version from its Go types with [For], and validates every
//     execute's inputs before the author's code runs;
//   - the manager, which validates an invocation's inputs against the schemas
//     stored in a PluginVersion with [Compile] (once per version) and
//     [Schema.Validate], or with the one-shot [Validate].
//
// Validation reports every offending field at once, in a [ValidationError]
// whose message reads like "name: required; polls: must be >= 0".
package schema
