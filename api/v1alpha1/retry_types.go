package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// This file holds the retry policy of invocations (issue 17, point 1): a
// failed attempt of a whole invocation may be run again from a clean state.
// It is kept apart from the invocation and version types so that other
// execution policies (caps, rate limits, priority) merge beside it.

// RetryOn names a kind of failure that a retry policy retries.
//
// +kubebuilder:validation:Enum=PluginFailed;Transport;Timeout
type RetryOn string

// Kinds of failure a retry policy may retry. Any other failure (invalid
// inputs, a protocol error, storage too large, cancel, the invocation's
// deadline, a deleted version) is never retried: another attempt would end
// the same way, or the caller asked it to stop.
const (
	// RetryOnPluginFailed: the plugin answered FAIL (reason PluginFailed).
	RetryOnPluginFailed RetryOn = "PluginFailed"
	// RetryOnTransport: the plugin pod could not be reached within the
	// manager's transport retry budget (reason PluginUnreachable).
	RetryOnTransport RetryOn = "Transport"
	// RetryOnTimeout: the plugin did not answer an execute within the
	// version's timeoutSeconds until the transport budget ran out, or no
	// callback arrived before the plugin's callback timeout (reason
	// CallbackTimeout).
	RetryOnTimeout RetryOn = "Timeout"
)

// Bounds and defaults of a RetryPolicy; the CRD markers below carry the
// same numbers, and the shim checks the invoke body's retry against them.
const (
	// MaxRetryLimit bounds RetryPolicy.Limit.
	MaxRetryLimit = 100
	// MaxRetryDelaySeconds bounds the backoff's initial and maximum delay (a day).
	MaxRetryDelaySeconds = 86400
	// MaxRetryFactor bounds RetryBackoff.Factor.
	MaxRetryFactor = 10
	// DefaultRetryInitialSeconds, DefaultRetryFactor,
	// DefaultRetryMaxDelaySeconds and DefaultRetryJitterPercent are the
	// backoff of a policy that leaves them unset.
	DefaultRetryInitialSeconds  = 5
	DefaultRetryFactor          = 2
	DefaultRetryMaxDelaySeconds = 300
	DefaultRetryJitterPercent   = 10
	// MaxAttemptHistory bounds status.attempts: the last attempts are kept.
	MaxAttemptHistory = 10
)

// RetryPolicy says when a failed attempt of an invocation runs again. Each
// attempt starts from a clean state (EMPTY, invoke_count 1, no storage or
// outputs); the plugin sees the attempt number in its execute context.
//
// +kubebuilder:validation:XValidation:rule="!has(self.backoff) || !has(self.backoff.initialSeconds) || !has(self.backoff.maxDelaySeconds) || self.backoff.initialSeconds <= self.backoff.maxDelaySeconds",message="backoff.initialSeconds must not exceed backoff.maxDelaySeconds",fieldPath=".backoff"
type RetryPolicy struct {
	// Limit is how many times a failed attempt is retried: an invocation
	// runs at most limit+1 attempts. 0 retries nothing (it turns off a
	// version's policy for one invocation).
	// +required
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Limit int32 `json:"limit"`

	// Backoff is the wait before each retry; unset means its defaults.
	// +optional
	Backoff *RetryBackoff `json:"backoff,omitempty"`

	// RetryOn lists the failures retried; unset means all of them
	// (PluginFailed, Transport, Timeout).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=3
	RetryOn []RetryOn `json:"retryOn,omitempty"`
}

// RetryBackoff is an exponential backoff with jitter: the wait before retry
// n is initialSeconds × factor^(n-1), at most maxDelaySeconds, less a random
// part of up to jitterPercent of it (so it never exceeds maxDelaySeconds).
type RetryBackoff struct {
	// InitialSeconds is the wait before the first retry; 0 retries at once.
	// Unset means 5.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=86400
	InitialSeconds *int32 `json:"initialSeconds,omitempty"`

	// Factor multiplies the wait after each retry; 1 keeps it constant.
	// Unset means 2.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	Factor *int32 `json:"factor,omitempty"`

	// MaxDelaySeconds caps the wait before any retry. Unset means 300.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	MaxDelaySeconds *int32 `json:"maxDelaySeconds,omitempty"`

	// JitterPercent takes a random part of up to this percentage off each
	// wait, so that invocations failing together do not retry together.
	// 0 turns jitter off. Unset means 10.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	JitterPercent *int32 `json:"jitterPercent,omitempty"`
}

// AttemptStatus is the result of one ended attempt of an invocation.
type AttemptStatus struct {
	// Attempt is the attempt's number, 1 for the first.
	// +kubebuilder:validation:Minimum=1
	Attempt int32 `json:"attempt"`

	// State is how the attempt ended: FAIL for a retried one, and the
	// invocation's final state for the last.
	// +optional
	State InvocationState `json:"state,omitempty"`

	// Reason is the Succeeded condition's reason the attempt ended with,
	// such as PluginFailed.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason,omitempty"`

	// Error is what the attempt failed with (bounded, sensitive values
	// scrubbed like status.error).
	// +optional
	Error string `json:"error,omitempty"`

	// InvokeCount is how many executes the attempt completed.
	// +optional
	// +kubebuilder:validation:Minimum=0
	InvokeCount int32 `json:"invokeCount,omitempty"`

	// StartTime is when the attempt's first execute began.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// CompletionTime is when the attempt ended.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// RetryDelayMilliseconds is the backoff chosen before the next attempt,
	// jitter included; unset on the last attempt.
	// +optional
	// +kubebuilder:validation:Minimum=0
	RetryDelayMilliseconds *int64 `json:"retryDelayMilliseconds,omitempty"`
}
