package version

// Event reasons of the PluginVersion reconciler.
const (
	// EventReasonVersionReady is a Normal event: the version became Ready.
	EventReasonVersionReady = "Ready"
	// EventReasonVersionNotReady is a Warning event: the version stopped
	// being Ready, or why it is not Ready changed.
	EventReasonVersionNotReady = "NotReady"
)
