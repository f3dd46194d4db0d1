package version

// Event reasons of the PluginVersion reconciler.
const (
	// EventReasonVersionReady is a Normal event: the version became Ready.
	EventReasonVersionReady = "Ready"
	// EventReasonVersionNotReady is a Warning event: the version stopped
	// being Ready, or why it is not Ready changed.
	EventReasonVersionNotReady = "NotReady"
)

// Event reasons of compatibility and canaries (docs/versioning.md).
const (
	// EventReasonBreaking is a Warning event: the version breaks the callers
	// of the previous version of its major and ranges skip it.
	EventReasonBreaking = "BreaksPreviousVersion"
	// EventReasonCanaryRolledBack is a Warning event: the canary's FAIL rate
	// passed its threshold and ranges resolve to the previous version.
	EventReasonCanaryRolledBack = "CanaryRolledBack"
)
