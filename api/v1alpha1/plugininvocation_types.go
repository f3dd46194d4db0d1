package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// InvocationState is the state of an invocation. The standard API sends the
// same states as numbers: EMPTY=1, POLL=2, CALLBACK=3, SUCCESS=4, FAIL=5.
//
// +kubebuilder:validation:Enum=EMPTY;POLL;CALLBACK;SUCCESS;FAIL
type InvocationState string

// Invocation states. SUCCESS and FAIL are terminal.
const (
	// StateEmpty: not executed yet.
	StateEmpty InvocationState = "EMPTY"
	// StatePoll: executed, to be executed again after a poll interval.
	StatePoll InvocationState = "POLL"
	// StateCallback: executed, to be executed again when a callback arrives.
	StateCallback InvocationState = "CALLBACK"
	// StateSuccess: finished successfully.
	StateSuccess InvocationState = "SUCCESS"
	// StateFail: finished with an error.
	StateFail InvocationState = "FAIL"
)

// Terminal reports whether s is SUCCESS or FAIL.
func (s InvocationState) Terminal() bool { return s == StateSuccess || s == StateFail }

// PluginInvocationSpec is one call of a plugin. Everything but cancel is
// fixed at creation: an invocation's result must answer the call that was made.
//
// +kubebuilder:validation:XValidation:rule="has(self.inputs) == has(oldSelf.inputs) && (!has(self.inputs) || self.inputs == oldSelf.inputs)",message="inputs are immutable",fieldPath=".inputs"
// +kubebuilder:validation:XValidation:rule="has(self.context) == has(oldSelf.context) && (!has(self.context) || self.context == oldSelf.context)",message="context is immutable",fieldPath=".context"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.cancel) || !oldSelf.cancel || (has(self.cancel) && self.cancel)",message="cancel cannot be undone",fieldPath=".cancel"
// +kubebuilder:validation:XValidation:rule="has(self.retry) == has(oldSelf.retry) && (!has(self.retry) || self.retry == oldSelf.retry)",message="retry is immutable",fieldPath=".retry"
type PluginInvocationSpec struct {
	// Plugin is the code of the plugin to call.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="plugin is immutable"
	Plugin string `json:"plugin"`

	// Version is an exact version ("1.1.0") or a semver constraint ("^1.0",
	// ">=1.2, <2"); a constraint resolves to the newest Ready version that
	// satisfies it, recorded in status.resolvedVersion.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[0-9A-Za-z.*^~<>=!|, +-]+$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="version is immutable"
	Version string `json:"version"`

	// Inputs are the plugin's inputs, checked against the version's schema.
	// +optional
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Inputs *apiextensionsv1.JSON `json:"inputs,omitempty"`

	// Context is the invocation context (the seeds' context.data), checked
	// against the version's context inputs schema.
	// +optional
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Context *apiextensionsv1.JSON `json:"context,omitempty"`

	// SensitiveSecretName is deprecated: the Secret holding the
	// invocation's sensitive values (fields the version's task.json marks
	// isSensitive) is always "<invocation name>-sensitive", and must carry
	// the label bkplugin.io/invocation=<invocation name>. Key "inputs"
	// holds the sensitive inputs as a JSON object, which are never put in
	// spec.inputs; key "outputs" receives the sensitive outputs, which
	// status shows masked. The manager makes the invocation the Secret's
	// owner, so it is deleted with it. When set, this field must equal
	// that name.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="sensitiveSecretName is immutable"
	SensitiveSecretName string `json:"sensitiveSecretName,omitempty"`

	// Caller records who made the call, as the shim saw it.
	// +optional
	Caller *Caller `json:"caller,omitempty"`

	// ActiveDeadlineSeconds bounds the whole invocation from its creation;
	// past it the invocation ends FAIL "timeout".
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=31536000
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`

	// Cancel, once set, ends the invocation FAIL "cancelled" at the next
	// reconcile. It cannot be unset.
	// +optional
	Cancel bool `json:"cancel,omitempty"`

	// FinishNotification, when set, is posted the final state, outputs and
	// error once the invocation ends (the Python framework's
	// enable_plugin_callback).
	// +optional
	FinishNotification *FinishNotification `json:"finishNotification,omitempty"`

	// TTLSecondsAfterFinished deletes the invocation that long after it
	// ends, once it is archived; unset means the manager's --keep-finished
	// (10 minutes by default). Its history stays in the archive.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=31536000
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`

	// Retry runs a failed attempt again (retry_types.go); it wins over the
	// version's spec.retry as a whole. The shim sets it from the invoke
	// body's retry extension.
	// +optional
	Retry *RetryPolicy `json:"retry,omitempty"`
	// Priority orders the invocations waiting for a slot of their version's
	// limits.maxActiveInvocations: a higher one starts first, equal ones in
	// creation order. It may be changed while the invocation waits. The
	// invoke body's priority extension sets it.
	// +optional
	// +kubebuilder:validation:Minimum=-1000
	// +kubebuilder:validation:Maximum=1000
	Priority int32 `json:"priority,omitempty"`
}

// Caller identifies the caller of an invocation.
type Caller struct {
	// AppCode is the calling app's code.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	AppCode string `json:"appCode,omitempty"`
	// Username is the user the app calls for.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Username string `json:"username,omitempty"`
	// ScopeType is the Bkplugin-Scope-Type of the call.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	ScopeType string `json:"scopeType,omitempty"`
	// ScopeValue is the Bkplugin-Scope-Value of the call.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	ScopeValue string `json:"scopeValue,omitempty"`
}

// FinishNotification is where to post an invocation's result.
type FinishNotification struct {
	// URL receives a POST with {trace_id, state, outputs, err, data}, or
	// with data alone when pluginCallback is set.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && (self.startsWith('http://') || self.startsWith('https://'))",message="url must be an absolute http or https URL"
	URL string `json:"url"`

	// Data is passed back as it is in the notification.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	Data *apiextensionsv1.JSON `json:"data,omitempty"`

	// PluginCallback makes the notification the Python framework's finish
	// callback (plugin_callback_info, set by the shim for a version with
	// enablePluginCallback): the body is exactly data (JSON, {} when
	// unset), it is sent only when the invoke answer was not final
	// (annotation bkplugin.io/invoke-answered-pending), and it counts as
	// delivered only on a 2xx JSON answer whose result is absent or true.
	// +optional
	PluginCallback bool `json:"pluginCallback,omitempty"`
}

// PluginInvocationStatus is the whole state of an invocation: plugin pods are
// stateless, so everything an execute needs is kept here.
type PluginInvocationStatus struct {
	// ObservedGeneration is the generation the status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// State is the invocation's state.
	// +optional
	State InvocationState `json:"state,omitempty"`

	// TraceID identifies the invocation in the standard API and in logs.
	// +optional
	TraceID string `json:"traceID,omitempty"`

	// ResolvedVersion is the exact version that spec.version resolved to.
	// +optional
	ResolvedVersion string `json:"resolvedVersion,omitempty"`

	// InvokeCount is how many executes have completed.
	// +optional
	// +kubebuilder:validation:Minimum=0
	InvokeCount int32 `json:"invokeCount,omitempty"`

	// Outputs are the plugin's outputs so far.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	Outputs *apiextensionsv1.JSON `json:"outputs,omitempty"`

	// Storage is the plugin's storage, kept between executes.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	Storage *apiextensionsv1.JSON `json:"storage,omitempty"`

	// Error says why the invocation failed.
	// +optional
	Error string `json:"error,omitempty"`

	// RetryCount is how many attempts of the current call have failed in a
	// row: the execute while the invocation runs, the finish notification
	// once it has ended. The Retrying condition's lastTransitionTime is when
	// the first of them failed.
	// +optional
	// +kubebuilder:validation:Minimum=0
	RetryCount int32 `json:"retryCount,omitempty"`

	// NextPollTime is when a POLL invocation is executed next.
	// +optional
	NextPollTime *metav1.Time `json:"nextPollTime,omitempty"`

	// CallbackDeadline is when a CALLBACK invocation stops waiting.
	// +optional
	CallbackDeadline *metav1.Time `json:"callbackDeadline,omitempty"`

	// PreparedCallbacks are the ids of the callbacks the plugin prepared.
	// +optional
	// +listType=set
	PreparedCallbacks []string `json:"preparedCallbacks,omitempty"`

	// DeliveredCallbacks are the ids of the callbacks already delivered;
	// each callback id is delivered once.
	// +optional
	// +listType=set
	DeliveredCallbacks []string `json:"deliveredCallbacks,omitempty"`

	// StartTime is when the first execute began.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// CompletionTime is when the invocation ended.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// Logs are the lines the plugin logged during the executes so far,
	// carried back in each execute answer (bounded per execute by the plugin
	// and per invocation by the manager, sensitive values redacted). They
	// are kept here only until the invocation is archived with them, so
	// that a plugin pod's restart loses none.
	// +optional
	// +kubebuilder:validation:MaxItems=10000
	Logs []string `json:"logs,omitempty"`

	// LogLinesDropped counts the plugin's log lines not kept because the
	// invocation's log reached its bound.
	// +optional
	// +kubebuilder:validation:Minimum=0
	LogLinesDropped int32 `json:"logLinesDropped,omitempty"`

	// ArchivedTime is when the finished invocation was written to the
	// history archive; the manager deletes it --keep-finished later.
	// +optional
	ArchivedTime *metav1.Time `json:"archivedTime,omitempty"`

	// Attempt is the number of the current attempt (retry_types.go), 1 for
	// the first; unset means 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Attempt int32 `json:"attempt,omitempty"`

	// NextAttemptTime is when the next attempt starts, while a failed
	// attempt waits out its retry backoff (rounded up to the second, so
	// the attempt never starts before it).
	// +optional
	NextAttemptTime *metav1.Time `json:"nextAttemptTime,omitempty"`

	// AttemptStartTime is when the current attempt's first execute began;
	// unset on the first attempt, whose start is startTime.
	// +optional
	AttemptStartTime *metav1.Time `json:"attemptStartTime,omitempty"`

	// Attempts are the results of the ended attempts of an invocation that
	// has a retry policy, oldest first; only the last 10 are kept.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	Attempts []AttemptStatus `json:"attempts,omitempty"`

	// QueuePosition is the invocation's place (1 = next) among those
	// waiting for a slot of its version's limits.maxActiveInvocations, as
	// last evaluated; it is refreshed as the invocation moves up (each time
	// it halves) and cleared once it starts.
	// +optional
	// +kubebuilder:validation:Minimum=0
	QueuePosition int32 `json:"queuePosition,omitempty"`

	// Conditions hold Succeeded, Notified, Retrying, Archived and, for a
	// version with limits.maxActiveInvocations, Queued.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// PluginInvocation is one call of a plugin version and all of its state.
// The shim creates one for each invoke of the standard API, named after the
// trace id.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="!has(self.spec.sensitiveSecretName) || self.spec.sensitiveSecretName == self.metadata.name + '-sensitive'",message="spec.sensitiveSecretName must be unset or <metadata.name>-sensitive: an invocation reads only the Secret made for it"
// +kubebuilder:resource:shortName=pinv,categories=bkplugin
// +kubebuilder:printcolumn:name="Plugin",type=string,JSONPath=`.spec.plugin`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.resolvedVersion`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Invokes",type=integer,JSONPath=`.status.invokeCount`
// +kubebuilder:printcolumn:name="Attempt",type=integer,JSONPath=`.status.attempt`
// +kubebuilder:printcolumn:name="Queued",type=string,JSONPath=`.status.conditions[?(@.type=="Queued")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Requested",type=string,JSONPath=`.spec.version`,priority=1
// +kubebuilder:printcolumn:name="Error",type=string,JSONPath=`.status.error`,priority=1
// +kubebuilder:printcolumn:name="Position",type=integer,JSONPath=`.status.queuePosition`,priority=1
// +kubebuilder:printcolumn:name="Priority",type=integer,JSONPath=`.spec.priority`,priority=1
type PluginInvocation struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the call.
	// +required
	Spec PluginInvocationSpec `json:"spec"`

	// Status is the invocation's state.
	// +optional
	Status PluginInvocationStatus `json:"status,omitempty"`
}

// PluginInvocationList is a list of PluginInvocations.
//
// +kubebuilder:object:root=true
type PluginInvocationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PluginInvocation `json:"items"`
}

func init() {
	SchemeBuilder.Register(&PluginInvocation{}, &PluginInvocationList{})
}
