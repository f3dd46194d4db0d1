package v1alpha1

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels the operator sets on PluginInvocations so that they can be listed by
// plugin and version with a label selector.
const (
	// LabelPlugin holds the plugin code.
	LabelPlugin = "bkplugin.io/plugin"
	// LabelVersion holds the resolved plugin version.
	LabelVersion = "bkplugin.io/version"
	// LabelInvocation, on an invocation's sensitive Secret, names the
	// invocation it was made for. Whoever creates the Secret (the shim,
	// or a user with kubectl) sets it; the manager reads or adopts no
	// Secret without it, so that an invocation cannot be pointed at a
	// Secret made for something else.
	LabelInvocation = "bkplugin.io/invocation"
)

// CallbackAnnotationPrefix prefixes the annotations through which callbacks
// reach the manager: the shim writes one annotation per callback, keyed
// CallbackAnnotationPrefix + callback id, and the manager removes it once the
// callback is delivered and recorded in status.deliveredCallbacks.
const CallbackAnnotationPrefix = "callback.bkplugin.io/"

// AnnotationInvokeAnsweredPending is set ("true") by the shim on an
// invocation whose invoke answer told the platform it had not finished
// (POLL or CALLBACK). In the Python framework's finish-callback mode
// (spec.finishNotification.pluginCallback) the platform then waits for the
// finish POST, so the manager sends it only when this is set: a platform
// told SUCCESS or FAIL by the invoke answer has already finished its node.
const AnnotationInvokeAnsweredPending = "bkplugin.io/invoke-answered-pending"

// Keys and mask of the Secret that holds an invocation's sensitive values.
const (
	// SensitiveInputsKey holds the sensitive inputs, a JSON object.
	SensitiveInputsKey = "inputs"
	// SensitiveOutputsKey holds the sensitive outputs, a JSON object.
	SensitiveOutputsKey = "outputs"
	// SensitiveMask stands in status for a sensitive output's value.
	SensitiveMask = "******"
	// SensitiveSecretSuffix names an invocation's Secret:
	// "<invocation name>-sensitive".
	SensitiveSecretSuffix = "-sensitive"
)

// SensitiveSecretName is the name of the Secret holding inv's sensitive
// values. It is derived from the invocation's name, never chosen by its
// creator: a name given in spec would let anyone who may create an
// invocation read, or take ownership of, any Secret of the namespace.
func (inv *PluginInvocation) SensitiveSecretName() string {
	return inv.Name + SensitiveSecretSuffix
}

// CallbackAnnotation is the value of a callback annotation, as JSON.
type CallbackAnnotation struct {
	// Data is the JSON body the third party posted.
	Data json.RawMessage `json:"data,omitempty"`
	// ReceivedAt is when the shim received the callback; callbacks are
	// delivered in the order they were received.
	ReceivedAt metav1.MicroTime `json:"receivedAt"`
}

// AnnotationTraceparent and AnnotationTracestate keep the W3C Trace
// Context of the invoke that created a PluginInvocation (the shim writes
// them; sdk/tracing.InjectAnnotations), so that the manager's reconciles
// and its executes against the plugin pod join the caller's trace.
const (
	AnnotationTraceparent = "bkplugin.io/traceparent"
	AnnotationTracestate  = "bkplugin.io/tracestate"
)
