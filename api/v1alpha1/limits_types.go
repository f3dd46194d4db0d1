package v1alpha1

// This file holds the admission vocabulary of issue 17: how much of a plugin
// version may run at once, how fast its plugin pods are called, and where a
// waiting invocation stands. It is kept apart from the retry policy so that
// each can change without the other.

// ExecutionLimits bound how much of one PluginVersion runs at once and how
// fast its plugin pods are called. Unset fields mean no bound.
type ExecutionLimits struct {
	// MaxActiveInvocations caps the invocations of this version that have
	// started and not finished. An invocation over the cap waits with the
	// condition Queued=True and starts, in order of spec.priority (higher
	// first) then creation (older first, name as tie-break), when one of
	// them finishes. The count is read from the cluster, so it holds across
	// manager restarts.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	MaxActiveInvocations *int32 `json:"maxActiveInvocations,omitempty"`

	// MaxExecutesInFlight caps the execute calls to this version's plugin
	// pods that are in flight at once (first executes, polls and callback
	// deliveries alike). An execute over the cap is deferred, never dropped.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	MaxExecutesInFlight *int32 `json:"maxExecutesInFlight,omitempty"`

	// ExecutesPerSecond bounds the rate of execute calls to this version's
	// plugin pods (a token bucket refilled at this rate). An execute over
	// the rate, a poll included, is deferred until a token is free, never
	// dropped.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	ExecutesPerSecond *int32 `json:"executesPerSecond,omitempty"`

	// Burst is the token bucket's size: how many executes may be made at
	// once after a quiet period. Unset means executesPerSecond (at least 1).
	// Only read when executesPerSecond is set.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	Burst *int32 `json:"burst,omitempty"`
}

// Bounds of PluginInvocationSpec.Priority and of the invoke body's priority
// extension.
const (
	// MinPriority is the lowest invocation priority.
	MinPriority = -1000
	// MaxPriority is the highest invocation priority.
	MaxPriority = 1000
)

// ConditionQueued is True on an invocation waiting for a slot of its
// version's limits.maxActiveInvocations, and False (reason Admitted) once
// it holds one. Invocations of versions without that cap never carry it.
const ConditionQueued = "Queued"

// Reasons of the Queued condition.
const (
	// ReasonQueuedAtCap (Queued True): the version's maxActiveInvocations
	// invocations are running; this one starts when one of them finishes
	// and those ahead of it have started.
	ReasonQueuedAtCap = "MaxActiveInvocations"
	// ReasonAdmitted (Queued False): the invocation holds one of its
	// version's active slots until it finishes.
	ReasonAdmitted = "Admitted"
)
