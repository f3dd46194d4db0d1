// Package webhook is the manager's validating admission webhook for
// PluginVersions (docs/versioning.md): it refuses a change to the contract
// of a served version (its schemas, forms, task.json and callback mode;
// description and operational fields may change), and a new version that
// breaks the callers of the previous version of its major, listing every
// finding of sdk/compat with its field path and rule.
//
// Where the webhook is not installed, the PluginVersion reconciler marks
// such a version Compatible=False instead (internal/controller/version),
// from the same functions in internal/versions, and ranges skip it.
//
// The decisions (contractChanges, breakingErrors) are pure and
// table-tested; the validator only lists the plugin's versions.
package webhook
