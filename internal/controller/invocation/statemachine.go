package invocation

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/history"
	"github.com/bkplugin/bk-plugin-operator/internal/pluginexec"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// This file is the invocation state machine: pure functions from an
// invocation, the time and what the plugin answered to the invocation's new
// status and when to look at it again. The reconciler only loads, calls the
// plugin pod and writes what these functions decide, so every decision is
// table-tested without a cluster (statemachine_test.go).

// Messages of invocations that end FAIL without the plugin saying why; the
// standard API shows them as err.
const (
	MessageCancelled       = "cancelled"
	MessageTimeout         = "timeout"
	MessageCallbackTimeout = "callback timeout"
)

// stepKind is what the reconciler should do with an invocation now.
type stepKind int

const (
	// stepWait: nothing to do until requeueAfter (zero: until an event).
	stepWait stepKind = iota
	// stepExecute: call the plugin, delivering callback when set.
	stepExecute
	// stepFail: end the invocation FAIL without calling the plugin.
	stepFail
)

// step is planStep's decision.
type step struct {
	kind         stepKind
	requeueAfter time.Duration
	callback     *pendingCallback
	reason       string
	message      string
}

// pendingCallback is a callback the shim recorded as an annotation and that
// has not been delivered yet.
type pendingCallback struct {
	ID         string
	Annotation string
	Data       json.RawMessage
	ReceivedAt time.Time
}

// planStep decides what to do with a running invocation at now. pending are
// the undelivered callbacks in arrival order.
func planStep(inv *bkv1.PluginInvocation, pending []pendingCallback, now time.Time) step {
	st := inv.Status
	if st.State.Terminal() {
		return step{kind: stepWait}
	}
	if inv.Spec.Cancel {
		return step{kind: stepFail, reason: bkv1.ReasonCancelled, message: MessageCancelled}
	}
	deadline, hasDeadline := invocationDeadline(inv)
	if hasDeadline && !now.Before(deadline) {
		return step{kind: stepFail, reason: bkv1.ReasonDeadline, message: MessageTimeout}
	}
	// wait returns a step that waits until at, or the deadline if sooner.
	wait := func(at *time.Time) step {
		var next time.Time
		switch {
		case at != nil && (!hasDeadline || at.Before(deadline)):
			next = *at
		case hasDeadline:
			next = deadline
		default:
			return step{kind: stepWait}
		}
		return step{kind: stepWait, requeueAfter: max(next.Sub(now), time.Millisecond)}
	}

	switch st.State {
	case "", bkv1.StateEmpty:
		if until, held := shimHold(inv); held && st.InvokeCount == 0 && now.Before(until) {
			// The shim made the first execute and is recording its answer
			// (the direct path); executing now would run it twice.
			return wait(&until)
		}
		if st.NextAttemptTime != nil && now.Before(st.NextAttemptTime.Time) {
			// A retried attempt waits out its backoff (retry.go).
			at := st.NextAttemptTime.Time
			return wait(&at)
		}
		return step{kind: stepExecute}
	case bkv1.StatePoll:
		if st.NextPollTime == nil || !now.Before(st.NextPollTime.Time) {
			return step{kind: stepExecute}
		}
		at := st.NextPollTime.Time
		return wait(&at)
	case bkv1.StateCallback:
		if len(pending) > 0 {
			cb := pending[0]
			return step{kind: stepExecute, callback: &cb}
		}
		if st.CallbackDeadline != nil {
			if !now.Before(st.CallbackDeadline.Time) {
				return step{kind: stepFail, reason: bkv1.ReasonCallbackTimeout, message: MessageCallbackTimeout}
			}
			at := st.CallbackDeadline.Time
			return wait(&at)
		}
		// No polling at all while waiting for a callback: the callback
		// annotation's update event wakes the invocation.
		return wait(nil)
	default:
		return step{kind: stepFail, reason: bkv1.ReasonProtocolError, message: fmt.Sprintf("invocation is in unknown state %q", st.State)}
	}
}

// shimHold is until when the shim owns the first execute of inv
// (AnnotationFirstExecute): the time it names, at most
// FirstExecuteMaxHoldSeconds after inv's creation (FirstExecuteGraceSeconds
// when the value is not a time). held is false when the shim made no
// first execute of inv.
func shimHold(inv *bkv1.PluginInvocation) (until time.Time, held bool) {
	v, ok := inv.Annotations[bkv1.AnnotationFirstExecute]
	if !ok {
		return time.Time{}, false
	}
	created := inv.CreationTimestamp.Time
	until, err := time.Parse(time.RFC3339, v)
	if err != nil {
		until = created.Add(bkv1.FirstExecuteGraceSeconds * time.Second)
	}
	if limit := created.Add(bkv1.FirstExecuteMaxHoldSeconds * time.Second); until.After(limit) {
		until = limit
	}
	return until, true
}

// firstExecuteRecorded reports whether an update of an invocation is the
// shim recording the first execute it made (the direct path): a status
// write, which the reconciler otherwise ignores as its own, that it must
// carry on from.
func firstExecuteRecorded(before, after *bkv1.PluginInvocation) bool {
	_, marked := after.Annotations[bkv1.AnnotationFirstExecute]
	return marked && before.Status.InvokeCount == 0 && before.Status.State != after.Status.State
}

// retryWait is how long to wait before a call is retried, given the
// attempts that already failed: exponential from initial, capped at maxWait.
func retryWait(failed int32, initial, maxWait time.Duration) time.Duration {
	// No jitter: the function stays pure and its table exact; the work
	// queue's own timing already spreads retries of many invocations.
	b := wait.Backoff{Duration: initial, Factor: 2, Steps: math.MaxInt32, Cap: maxWait}
	d := initial
	for range max(failed, 1) {
		d = b.Step()
	}
	return d
}

// invocationDeadline is when spec.activeDeadlineSeconds runs out.
func invocationDeadline(inv *bkv1.PluginInvocation) (time.Time, bool) {
	if inv.Spec.ActiveDeadlineSeconds == nil {
		return time.Time{}, false
	}
	return inv.CreationTimestamp.Add(time.Duration(*inv.Spec.ActiveDeadlineSeconds) * time.Second), true
}

// transitionLimits are the bounds applyAnswer enforces.
type transitionLimits struct {
	// maxStatusBytes bounds outputs plus storage.
	maxStatusBytes int
	// maxCallbacksPerAnswer bounds the callbacks one answer prepares;
	// maxPreparedCallbacks those of the whole invocation. Zero: no bound.
	maxCallbacksPerAnswer, maxPreparedCallbacks int
	// minPoll and maxPoll bound the poll interval a plugin asks for; zero:
	// no bound.
	minPoll, maxPoll time.Duration
	// logs bound the plugin log lines kept in status.
	logs history.LogLimits
}

// transition is the outcome of applying something to an invocation.
type transition struct {
	// status is the invocation's new status.
	status bkv1.PluginInvocationStatus
	// requeueAfter is when to look at the invocation again; zero: on events only.
	requeueAfter time.Duration
	// requeueNow asks for another reconcile at once, e.g. to deliver the
	// next queued callback.
	requeueNow bool
	// executed reports whether an execute completed: its answer is worth
	// keeping when the status write fails.
	executed bool
	// fallback marks the FAIL written in place of a refused status
	// (tooLargeFallback), which is not fallen back from again.
	fallback bool
	// timedOut marks a transport failure whose last call got no answer in
	// time, which a retry policy counts as Timeout (failureKind).
	timedOut bool
	// retried is set when a failed attempt was turned into a new attempt
	// (applyRetry); the Retrying event follows the write.
	retried *retryDecision
}

// applyAnswer applies the plugin's answer to one execute
// (pluginexec.Apply, which the shim's first execute applies too).
// delivered is the callback that execute delivered, if any; pending are the
// callbacks still queued behind it.
func applyAnswer(inv *bkv1.PluginInvocation, answer *protocol.ExecuteResponse, delivered *pendingCallback,
	pending []pendingCallback, now time.Time, limits transitionLimits) transition {
	var id string
	if delivered != nil {
		id = delivered.ID
	}
	a := pluginexec.Apply(&inv.Status, answer, id, len(pending), now, limits.pluginexec())
	return transition{status: a.Status, requeueAfter: a.RequeueAfter, requeueNow: a.RequeueNow, executed: true}
}

// pluginexec returns the limits as pluginexec's.
func (l transitionLimits) pluginexec() pluginexec.Limits {
	return pluginexec.Limits{MaxStatusBytes: l.maxStatusBytes, MaxCallbacksPerAnswer: l.maxCallbacksPerAnswer,
		MaxPreparedCallbacks: l.maxPreparedCallbacks, MinPoll: l.minPoll, MaxPoll: l.maxPoll, Logs: l.logs}
}

// applyCallError records a failed attempt to call the plugin pod: it retries
// with backoff until budget has passed since the first failure, then ends
// the invocation FAIL with the cause.
func applyCallError(inv *bkv1.PluginInvocation, callErr error, now time.Time, budget, initial, maxWait time.Duration) transition {
	st := *inv.Status.DeepCopy()
	first := now
	if c := apimeta.FindStatusCondition(st.Conditions, bkv1.ConditionRetrying); c != nil && c.Status == metav1.ConditionTrue {
		first = c.LastTransitionTime.Time
	}
	st.RetryCount++
	if now.Sub(first) >= budget {
		msg := fmt.Sprintf("%v (gave up after %d attempts in %s)", callErr, st.RetryCount, now.Sub(first).Round(time.Millisecond))
		clearRetry(&st)
		return transition{status: failed(st, bkv1.ReasonUnreachable, msg, now), timedOut: timedOut(callErr)}
	}
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: bkv1.ConditionRetrying, Status: metav1.ConditionTrue, Reason: bkv1.ReasonRetrying,
		Message: boundMessage(fmt.Sprintf("attempt %d failed: %v", st.RetryCount, callErr)), LastTransitionTime: metav1.NewTime(first),
		ObservedGeneration: inv.Generation,
	})
	return transition{status: st, requeueAfter: retryWait(st.RetryCount, initial, maxWait)}
}

// applyFailure ends an invocation FAIL without an execute (cancel, deadline,
// callback timeout, invalid inputs, no matching version).
func applyFailure(inv *bkv1.PluginInvocation, reason, message string, now time.Time) transition {
	st := *inv.Status.DeepCopy()
	clearRetry(&st)
	st.NextPollTime, st.CallbackDeadline = nil, nil
	return transition{status: failed(st, reason, message, now)}
}

// failed ends st FAIL (pluginexec.Failed, shared with the shim).
func failed(st bkv1.PluginInvocationStatus, reason, message string, now time.Time) bkv1.PluginInvocationStatus {
	return pluginexec.Failed(st, reason, message, now)
}

// clearRetry forgets st's failed attempts (pluginexec.ClearRetry).
func clearRetry(st *bkv1.PluginInvocationStatus) { pluginexec.ClearRetry(st) }

// notificationDue reports whether a finished invocation still has to post
// its finish notification.
func notificationDue(inv *bkv1.PluginInvocation) bool {
	fn := inv.Spec.FinishNotification
	if fn == nil {
		return false
	}
	// The Python framework's finish callback is sent only to a platform
	// that was told the invocation had not finished; one told SUCCESS or
	// FAIL by the invoke answer has finished its node, and would refuse
	// the POST. The shim marks the invocation before it answers, and that
	// annotation wakes this reconciler again, so the order does not matter.
	if fn.PluginCallback && inv.Annotations[bkv1.AnnotationInvokeAnsweredPending] != "true" {
		return false
	}
	c := apimeta.FindStatusCondition(inv.Status.Conditions, bkv1.ConditionNotified)
	return c == nil || c.Reason == bkv1.ReasonRetrying
}

// applyNotification records the outcome of posting the finish notification:
// Notified True once sent; retried with backoff within budget; Notified
// False once the budget is spent. It never changes the invocation's result.
func applyNotification(inv *bkv1.PluginInvocation, sendErr error, now time.Time, budget, initial, maxWait time.Duration) transition {
	st := *inv.Status.DeepCopy()
	if sendErr == nil {
		clearRetry(&st)
		apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: bkv1.ConditionNotified, Status: metav1.ConditionTrue, Reason: bkv1.ReasonNotificationSent,
			Message: "finish notification sent to " + inv.Spec.FinishNotification.URL, LastTransitionTime: metav1.NewTime(now),
		})
		return transition{status: st}
	}
	first := now
	if c := apimeta.FindStatusCondition(st.Conditions, bkv1.ConditionNotified); c != nil && c.Reason == bkv1.ReasonRetrying {
		first = c.LastTransitionTime.Time
	}
	st.RetryCount++
	if now.Sub(first) >= budget {
		msg := fmt.Sprintf("%v (gave up after %d attempts)", sendErr, st.RetryCount)
		clearRetry(&st)
		apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: bkv1.ConditionNotified, Status: metav1.ConditionFalse, Reason: bkv1.ReasonNotifyFailed,
			Message: boundMessage(msg), LastTransitionTime: metav1.NewTime(now),
		})
		return transition{status: st}
	}
	// The condition keeps the first failure's time across attempts, so the
	// budget survives a manager restart.
	st.Conditions = setConditionKeepingTime(st.Conditions, metav1.Condition{
		Type: bkv1.ConditionNotified, Status: metav1.ConditionFalse, Reason: bkv1.ReasonRetrying,
		Message: boundMessage(fmt.Sprintf("attempt %d failed: %v", st.RetryCount, sendErr)), LastTransitionTime: metav1.NewTime(first),
	})
	return transition{status: st, requeueAfter: retryWait(st.RetryCount, initial, maxWait)}
}

// ttlExpiry is when a finished invocation's time in the cluster ends: its
// ttlSecondsAfterFinished, else keepFinished, after its completion.
func ttlExpiry(inv *bkv1.PluginInvocation, keepFinished time.Duration) time.Time {
	ttl := keepFinished
	if inv.Spec.TTLSecondsAfterFinished != nil {
		ttl = time.Duration(*inv.Spec.TTLSecondsAfterFinished) * time.Second
	}
	done := inv.CreationTimestamp.Time
	if inv.Status.CompletionTime != nil {
		done = inv.Status.CompletionTime.Time
	}
	return done.Add(ttl)
}

// setConditionKeepingTime sets c with the LastTransitionTime it carries, which
// meta.SetStatusCondition would keep from the old condition only when the
// status is unchanged.
func setConditionKeepingTime(conds []metav1.Condition, c metav1.Condition) []metav1.Condition {
	apimeta.RemoveStatusCondition(&conds, c.Type)
	return append(conds, c)
}

func appendUnique(list []string, id string) []string {
	for _, s := range list {
		if s == id {
			return list
		}
	}
	return append(list, id)
}
