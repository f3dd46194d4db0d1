package controllers

// Reasons of a PluginVersion's Ready condition.
const (
	// VersionReasonServing (Ready True): the plugin pod serves the version
	// with the spec's schemas.
	VersionReasonServing = "Serving"
	// VersionReasonUnreachable: the plugin pod could not be reached, or
	// answered an error status other than 404 or a body that is not the
	// standard envelope.
	VersionReasonUnreachable = "Unreachable"
	// VersionReasonNotServed: the plugin pod answers but does not serve this
	// version (404 or result false).
	VersionReasonNotServed = "VersionNotServed"
	// VersionReasonSchemaMismatch: the pod serves the version with inputs,
	// context inputs or outputs schemas other than the spec's.
	VersionReasonSchemaMismatch = "SchemaMismatch"
	// VersionReasonConflict: an older PluginVersion in the namespace
	// registers the same plugin and version; that one is used.
	VersionReasonConflict = "Conflict"
	// VersionReasonInvalidEndpoint: the endpoint resolves to no usable URL.
	// The CRD's validation keeps it rare.
	VersionReasonInvalidEndpoint = "InvalidEndpoint"
	// VersionReasonInvalidDescription: the task.json description breaks a
	// rule the CRD cannot check (a rely expression with both value and
	// regex, a rely on an unknown field or a cycle).
	VersionReasonInvalidDescription = "InvalidDescription"
)

// Event reasons of the PluginVersion reconciler.
const (
	// EventReasonVersionReady is a Normal event: the version became Ready.
	EventReasonVersionReady = "Ready"
	// EventReasonVersionNotReady is a Warning event: the version stopped
	// being Ready, or why it is not Ready changed.
	EventReasonVersionNotReady = "NotReady"
)
