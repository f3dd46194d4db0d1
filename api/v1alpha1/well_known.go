package v1alpha1

// Labels the operator sets on PluginInvocations so that they can be listed by
// plugin and version with a label selector.
const (
	// LabelPlugin holds the plugin code.
	LabelPlugin = "bkplugin.io/plugin"
	// LabelVersion holds the resolved plugin version.
	LabelVersion = "bkplugin.io/version"
)

// CallbackAnnotationPrefix prefixes the annotations through which callbacks
// reach the manager: the shim writes one annotation per callback, keyed
// CallbackAnnotationPrefix + callback id, and the manager removes it once the
// callback is delivered and recorded in status.deliveredCallbacks.
const CallbackAnnotationPrefix = "callback.bkplugin.io/"

// Condition types.
const (
	// ConditionReady is True on a PluginVersion whose plugin pod serves it
	// with the schemas of its spec.
	ConditionReady = "Ready"
	// ConditionSucceeded is True once an invocation ends SUCCESS and False
	// once it ends FAIL; its reason says why it failed.
	ConditionSucceeded = "Succeeded"
	// ConditionNotified reports whether the finish notification was sent.
	ConditionNotified = "Notified"
)
