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

// AnnotationFirstExecute is set by the shim on an invocation whose first
// execute it makes itself (--sync-invoke=direct): one whose first answer
// was POLL or CALLBACK, which the shim records in status right after the
// create, or one whose first execute outlasted the invoke timeout and is
// still running in the shim. Its value is the time (RFC 3339) until which
// the shim owns that first execute: the manager makes no execute of the
// invocation while its status shows none, until then. Past it the shim is
// taken to have died before recording the answer, and the manager
// executes (the documented at-least-once case). The manager holds an
// invocation this way for FirstExecuteMaxHoldSeconds after its creation at
// most, whatever the value says.
const AnnotationFirstExecute = "bkplugin.io/first-execute"

// FirstExecuteGraceSeconds is the margin the shim adds to the time it needs
// to record a first execute when it sets AnnotationFirstExecute.
const FirstExecuteGraceSeconds = 30

// FirstExecuteMaxHoldSeconds bounds how long after its creation the manager
// leaves an invocation marked AnnotationFirstExecute to the shim.
const FirstExecuteMaxHoldSeconds = 3600

// AnnotationCallbackBinding holds the value callback keys of the invocation
// are bound to in place of its UID (protocol.DeriveBoundKey). The shim sets
// it, random, when it makes the first execute before the invocation (and so
// its UID) exists; a later invocation reusing the trace id gets another
// one, so that it accepts none of this one's tokens, as with the UID.
const AnnotationCallbackBinding = "bkplugin.io/callback-binding"

// CallbackBindingID is what inv's callback keys and tokens are bound to:
// its AnnotationCallbackBinding when set, else its UID.
func (inv *PluginInvocation) CallbackBindingID() string {
	if b := inv.Annotations[AnnotationCallbackBinding]; b != "" {
		return b
	}
	return string(inv.UID)
}

// AnnotationTraceparent and AnnotationTracestate keep the W3C Trace
// Context of the invoke that created a PluginInvocation (the shim writes
// them; sdk/tracing.InjectAnnotations), so that the manager's reconciles
// and its executes against the plugin pod join the caller's trace.
const (
	AnnotationTraceparent = "bkplugin.io/traceparent"
	AnnotationTracestate  = "bkplugin.io/tracestate"
)
