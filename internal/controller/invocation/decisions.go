package invocation

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/pluginexec"
	"github.com/bkplugin/bk-plugin-operator/internal/sensitive"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
)

// This file holds the invocation reconciler's decisions around the state
// machine (statemachine.go): which version runs, how a failed call ends,
// the status that is written, what to do when the write is refused, which
// transitions are events, when to look again and what a finished invocation
// still needs. Each is a pure function of what the reconciler gathered,
// returning one value; the reconciler only loads, calls and persists
// (plugininvocation_controller.go). Their tables are in
// invocation_decisions_test.go and need no cluster.

// versionChoice is chooseVersion's decision: the version to run, a reason to
// end the invocation FAIL, or how long to wait for the cache.
type versionChoice struct {
	plv     *bkv1.PluginVersion
	failure *failure
	wait    time.Duration
}

// failure is a reason to end an invocation FAIL before any execute.
type failure struct{ reason, message string }

// chooseVersion picks the PluginVersion an invocation runs among candidates,
// the plugin's versions in its namespace: the recorded one, or the one
// spec.version resolves to on the first reconcile, its trace id deciding
// whether a canary takes it (as the shim decided when it checked the
// inputs).
func chooseVersion(candidates []bkv1.PluginVersion, inv *bkv1.PluginInvocation, now time.Time) versionChoice {
	if v := inv.Status.ResolvedVersion; v != "" {
		// An exact version resolves like any other, so that a duplicate
		// registration in Conflict is never the one called.
		plv, err := versions.ResolveVersion(candidates, inv.Spec.Plugin, v)
		if err != nil {
			return versionChoice{failure: &failure{bkv1.ReasonVersionDeleted,
				fmt.Sprintf("PluginVersion %s %s was deleted while the invocation ran", inv.Spec.Plugin, v)}}
		}
		return versionChoice{plv: plv}
	}
	plv, err := versions.Resolve(candidates, versions.Request{Plugin: inv.Spec.Plugin, Version: inv.Spec.Version, TraceID: invocationTraceID(inv)})
	if err != nil {
		if errors.Is(err, versions.ErrNoMatchingVersion) && now.Sub(inv.CreationTimestamp.Time) < cacheLagGrace {
			return versionChoice{wait: 500 * time.Millisecond}
		}
		return versionChoice{failure: &failure{bkv1.ReasonNoVersion, err.Error()}}
	}
	return versionChoice{plv: plv}
}

// prepareInputs decides the inputs of an execute: spec.inputs with the
// sensitive inputs from the Secret laid over them. It fails the invocation
// when spec.inputs gives a sensitive input in clear, and, before the first
// execute, when the inputs break the version's description or schemas.
func prepareInputs(inv *bkv1.PluginInvocation, compiled *versions.Compiled, secretInputs map[string]json.RawMessage) (json.RawMessage, *failure) {
	if clear := sensitive.ClearInputs(raw(inv.Spec.Inputs), compiled.SensitiveInputs); len(clear) > 0 {
		return nil, &failure{bkv1.ReasonInvalidInputs, fmt.Sprintf(
			"%ssensitive inputs must not be given in spec.inputs, where every reader sees them: %s; put them in key %q of Secret %s",
			schema.InputsErrorPrefix, strings.Join(clear, ", "), bkv1.SensitiveInputsKey, inv.SensitiveSecretName())}
	}
	inputs, err := sensitive.MergeInputs(raw(inv.Spec.Inputs), secretInputs)
	if err != nil {
		return nil, &failure{bkv1.ReasonInvalidInputs, err.Error()}
	}
	if inv.Status.InvokeCount == 0 {
		if err := compiled.ValidateInputs(inputs, raw(inv.Spec.Context)); err != nil {
			return nil, &failure{bkv1.ReasonInvalidInputs, err.Error()}
		}
	}
	return inputs, nil
}

// secretFailure decides whether reading the invocation's Secret failed in a
// way that ends the invocation: a Secret that was not made for it
// (sensitive.ForeignSecretError) is never read or adopted, and waiting
// would not change whose it is. Any other error is retried.
func secretFailure(err error) *failure {
	var foreign *sensitive.ForeignSecretError
	if errors.As(err, &foreign) {
		return &failure{bkv1.ReasonForeignSecret, foreign.Error()}
	}
	return nil
}

// retryPolicy bounds the retries of calls to plugin pods and notification
// URLs: exponential backoff from initial to maxWait, for budget in all.
type retryPolicy struct {
	budget, initial, maxWait time.Duration
}

// retryable reports whether a failed call to a plugin pod may succeed if
// made again (a transport failure), as opposed to an answer that breaks the
// protocol, which another attempt would only repeat.
func retryable(callErr error) bool { return pluginexec.Retryable(callErr) }

// applyExecuteError is the transition of an execute that got no usable
// answer: a retry with backoff for a transport failure, else FAIL, with
// reason StorageTooLarge for an answer too long to read and ProtocolError
// for any other broken answer.
func applyExecuteError(inv *bkv1.PluginInvocation, callErr error, now time.Time, p retryPolicy) transition {
	if retryable(callErr) {
		return applyCallError(inv, callErr, now, p.budget, p.initial, p.maxWait)
	}
	reason := bkv1.ReasonProtocolError
	var tooLarge *answerTooLargeError
	if errors.As(callErr, &tooLarge) {
		reason = bkv1.ReasonStorageTooLarge
	}
	return applyFailure(inv, reason, callErr.Error(), now)
}

// finalStatus is the status written for transition t: t's status with what
// every write records (trace id, resolved version, start time, observed
// generation).
func finalStatus(inv *bkv1.PluginInvocation, traceID, version string, t transition, now time.Time) bkv1.PluginInvocationStatus {
	return pluginexec.Finalize(t.status, traceID, version, inv.Generation, now)
}

// pollDue is the exact time a polling status's next poll is due, zero when
// it does not poll. It is read before the write, which reads back the time
// in whole seconds.
func pollDue(st *bkv1.PluginInvocationStatus) time.Time {
	if st.State == bkv1.StatePoll && st.NextPollTime != nil {
		return st.NextPollTime.Time
	}
	return time.Time{}
}

// tooLargeFallback decides what to write when the API server refused t's
// status as too large or invalid: the invocation ends FAIL with a bounded
// message saying so, without outputs, storage and callback ids (what an
// answer makes grow), so that it stays writable instead of stuck, retried
// and executed again after every restart. It builds on the status as last
// stored, which the API server accepted. A fallback that is refused in turn
// is not fallen back from again.
func tooLargeFallback(inv *bkv1.PluginInvocation, t transition, writeErr error, now time.Time) (transition, bool) {
	if t.fallback || inv.Status.State.Terminal() {
		return transition{}, false
	}
	var tooLarge *statusTooLargeError
	var invalid *statusInvalidError
	var fb transition
	switch {
	case errors.As(writeErr, &tooLarge):
		if t.status.Outputs == nil && t.status.Storage == nil && len(t.status.PreparedCallbacks) <= len(inv.Status.PreparedCallbacks) {
			return transition{}, false
		}
		fb = applyFailure(inv, bkv1.ReasonStorageTooLarge, "storage too large: the API server refused the invocation's status: "+writeErr.Error(), now)
	case errors.As(writeErr, &invalid):
		fb = applyFailure(inv, bkv1.ReasonStatusRefused, "the API server refused the status the plugin's answer led to: "+writeErr.Error(), now)
	default:
		return transition{}, false
	}
	fb.status.Outputs, fb.status.Storage = nil, nil
	fb.status.InvokeCount = max(fb.status.InvokeCount, t.status.InvokeCount)
	fb.executed = t.executed
	fb.fallback = true
	return fb, true
}

// keepUnwritten reports whether a transition whose write failed with
// writeErr is kept to be written again without another execute: only an
// execute's answer is worth keeping, and not when the object changed
// (conflict) or is gone.
func keepUnwritten(t transition, writeErr error) bool {
	return t.executed && !apierrors.IsConflict(writeErr) && !apierrors.IsNotFound(writeErr)
}

// consumedCallbacks names the callback annotations that status records as
// delivered, which the reconciler removes after the status write.
func consumedCallbacks(annotations map[string]string, delivered []string) []string {
	var consumed []string
	for _, id := range delivered {
		if _, ok := annotations[bkv1.CallbackAnnotationPrefix+id]; ok {
			consumed = append(consumed, bkv1.CallbackAnnotationPrefix+id)
		}
	}
	return consumed
}

// requeueAfterWrite is when to look at an invocation again after its status
// st, from transition t, was written at now; due is pollDue of st.
func requeueAfterWrite(st *bkv1.PluginInvocationStatus, t transition, due, now time.Time) time.Duration {
	switch {
	case st.State.Terminal():
		// Notification and TTL come next.
		return time.Millisecond
	case t.requeueNow:
		return time.Millisecond
	case !due.IsZero() && t.executed:
		// The interval runs from the execute, but the pod call and the
		// write took some of it: wake at the exact due time (status keeps
		// it in whole seconds), not an interval after the write.
		return max(due.Sub(now), time.Millisecond)
	default:
		return t.requeueAfter
	}
}

// invocationEvent is an event transitionEvent decided to emit.
type invocationEvent struct {
	eventType, reason, note string
}

// enteredState reports whether a written transition from before to after
// entered a new state, which the transitions metric counts. EMPTY is where
// every invocation starts, not a state it enters.
func enteredState(before, after *bkv1.PluginInvocationStatus) bool {
	return before.State != after.State && after.State != bkv1.StateEmpty && after.State != ""
}

// transitionEvent decides whether a written transition from before to after
// is an event, and which. Events are for what an operator must notice: an
// invocation that failed (cancel, deadline and callback timeout included:
// the reason says which) and a call to the plugin pod that failed and is
// retried. The ordinary life cycle (started, polling, waiting for a
// callback, succeeded) is no event: each would be one more API-server
// write per invocation, as costly as the status write itself, and status
// (its conditions and times, which `kubectl describe` shows) and the history
// archive's timeline already say it.
func transitionEvent(before, after *bkv1.PluginInvocationStatus) (invocationEvent, bool) {
	switch {
	case after.State == bkv1.StateFail && before.State != bkv1.StateFail:
		reason := ""
		if c := apimeta.FindStatusCondition(after.Conditions, bkv1.ConditionSucceeded); c != nil {
			reason = c.Reason + ": "
		}
		return invocationEvent{eventType: corev1.EventTypeWarning, reason: "Failed",
			note: fmt.Sprintf("failed after %d executes: %s%s", after.InvokeCount, reason, truncate(after.Error, 512))}, true
	case after.RetryCount > before.RetryCount && !after.State.Terminal():
		return invocationEvent{eventType: corev1.EventTypeWarning, reason: bkv1.ReasonRetrying,
			note: fmt.Sprintf("calling the plugin pod failed %d times; retrying", after.RetryCount)}, true
	}
	return invocationEvent{}, false
}

// finishStep is what planFinished decided for a finished invocation.
type finishStep struct {
	// notify: post the finish notification now.
	notify bool
	// archive: write the invocation to the history archive now.
	archive bool
	// expire: it is archived and its time in the cluster has passed;
	// delete it.
	expire bool
	// requeueAfter is when to look again, when none of them is due.
	requeueAfter time.Duration
}

// planFinished decides the next step of a finished invocation at now: its
// finish notification first, then archiving it, then waiting out its time
// in the cluster (spec.ttlSecondsAfterFinished, else keepFinished, from its
// completion), then deletion. An invocation that is not archived is never
// deleted, whatever its TTL: nothing is lost while the archive is down.
func planFinished(inv *bkv1.PluginInvocation, now time.Time, keepFinished time.Duration) finishStep {
	if notificationDue(inv) {
		return finishStep{notify: true}
	}
	if !archived(inv) {
		return finishStep{archive: true}
	}
	expiry := ttlExpiry(inv, keepFinished)
	if now.Before(expiry) {
		return finishStep{requeueAfter: expiry.Sub(now)}
	}
	return finishStep{expire: true}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
