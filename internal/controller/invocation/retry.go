package invocation

import (
	"fmt"
	"math"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// This file holds the retries of whole attempts (spec.retry, a version's
// spec.retry): when an attempt ends FAIL for a reason its policy retries,
// the invocation starts again from a clean state after a backoff. The
// decisions are pure: the random part of the jitter comes in as a number,
// drawn by the reconciler from its injected source (Reconciler.Random), so
// that the tables in retry_test.go are exact.

// effectiveRetryPolicy is the retry policy an invocation runs under: its
// own spec.retry, else its version's, else none. The invocation's wins as a
// whole: a caller that sets limit 0 turns the version's retries off.
func effectiveRetryPolicy(inv *bkv1.PluginInvocation, plv *bkv1.PluginVersion) *bkv1.RetryPolicy {
	if inv.Spec.Retry != nil {
		return inv.Spec.Retry
	}
	if plv != nil {
		return plv.Spec.Retry
	}
	return nil
}

// failureKind classifies how an attempt failed, from the Succeeded reason
// it ended with; timedOut tells a transport failure whose last call got no
// answer in time. ok is false for failures no policy retries.
func failureKind(reason string, timedOut bool) (kind bkv1.RetryOn, ok bool) {
	switch reason {
	case bkv1.ReasonPluginFailed:
		return bkv1.RetryOnPluginFailed, true
	case bkv1.ReasonUnreachable:
		if timedOut {
			return bkv1.RetryOnTimeout, true
		}
		return bkv1.RetryOnTransport, true
	case bkv1.ReasonCallbackTimeout:
		return bkv1.RetryOnTimeout, true
	}
	return "", false
}

// retryBackoff is the wait before retry n (1 for the first): initial ×
// factor^(n-1), capped at the maximum delay, less random (in [0,1)) times
// the jitter share of it. It never exceeds the maximum delay and never
// overflows.
func retryBackoff(b *bkv1.RetryBackoff, n int32, random float64) time.Duration {
	initial, factor, maxDelay, jitter := int32(bkv1.DefaultRetryInitialSeconds), int32(bkv1.DefaultRetryFactor),
		int32(bkv1.DefaultRetryMaxDelaySeconds), int32(bkv1.DefaultRetryJitterPercent)
	if b != nil {
		initial = valueOr(b.InitialSeconds, initial)
		factor = valueOr(b.Factor, factor)
		maxDelay = valueOr(b.MaxDelaySeconds, maxDelay)
		jitter = valueOr(b.JitterPercent, jitter)
	}
	capSeconds := float64(max(maxDelay, 0))
	seconds := float64(max(initial, 0)) * math.Pow(float64(max(factor, 1)), float64(max(n, 1)-1))
	seconds = min(seconds, capSeconds) // +Inf from a huge power is capped too
	random = min(max(random, 0), 1)
	seconds -= seconds * float64(min(max(jitter, 0), 100)) / 100 * random
	return time.Duration(seconds * float64(time.Second)).Round(time.Millisecond)
}

func valueOr(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// retryDecision is decideRetry's answer.
type retryDecision struct {
	// retry: run another attempt at at, after delay.
	retry bool
	delay time.Duration
	at    time.Time
	// kind is the failure's kind; why says why it is not retried.
	kind bkv1.RetryOn
	why  string
}

// decideRetry decides whether an attempt that failed with reason (timedOut
// as for failureKind) at now is retried under policy, and when. attempt is
// the failed attempt's number; deadline, when set, is the invocation's
// activeDeadlineSeconds, past which no attempt starts.
func decideRetry(policy *bkv1.RetryPolicy, attempt int32, reason string, timedOut bool, now time.Time,
	deadline *time.Time, random float64) retryDecision {
	kind, retryable := failureKind(reason, timedOut)
	switch {
	case policy == nil:
		return retryDecision{kind: kind, why: "no retry policy"}
	case !retryable:
		return retryDecision{kind: kind, why: fmt.Sprintf("reason %s is never retried", reason)}
	case len(policy.RetryOn) > 0 && !slices.Contains(policy.RetryOn, kind):
		return retryDecision{kind: kind, why: fmt.Sprintf("the policy does not retry %s failures", kind)}
	case max(attempt, 1) > policy.Limit:
		return retryDecision{kind: kind, why: fmt.Sprintf("retry limit %d reached", policy.Limit)}
	}
	delay := retryBackoff(policy.Backoff, max(attempt, 1), random)
	// Status keeps whole seconds: round the start up, so that the attempt
	// a restarted manager reads from status never starts early.
	at := ceilSecond(now.Add(delay))
	if deadline != nil && !at.Before(*deadline) {
		return retryDecision{kind: kind, why: "the next attempt would start after the invocation's deadline"}
	}
	return retryDecision{retry: true, kind: kind, delay: delay, at: at}
}

func ceilSecond(t time.Time) time.Time {
	if c := t.Truncate(time.Second); !c.Equal(t) {
		return c.Add(time.Second)
	}
	return t
}

// applyRetry is what an attempt's end does to transition t under policy:
// a FAIL the policy retries becomes a new attempt in a clean state (EMPTY,
// no invoke count, outputs, storage or callbacks) that waits for its
// backoff, with the failed attempt appended to status.attempts; any other
// end of an invocation under a policy appends its last attempt. t is
// returned as it is when the invocation goes on or has no policy.
func applyRetry(inv *bkv1.PluginInvocation, t transition, policy *bkv1.RetryPolicy, now time.Time, random float64) transition {
	st := t.status
	if policy == nil || !st.State.Terminal() {
		return t
	}
	attempt := max(st.Attempt, 1)
	ended := bkv1.AttemptStatus{
		Attempt: attempt, State: st.State, Error: st.Error, InvokeCount: st.InvokeCount,
		StartTime: attemptStart(&st, now), CompletionTime: ptrTime(now),
	}
	reason := ""
	if c := apimeta.FindStatusCondition(st.Conditions, bkv1.ConditionSucceeded); c != nil {
		reason = c.Reason
	}
	ended.Reason = reason
	d := retryDecision{why: "the invocation succeeded"}
	if st.State == bkv1.StateFail {
		d = decideRetry(policy, attempt, reason, t.timedOut, now, deadlineOf(inv), random)
	}
	if !d.retry {
		st = *st.DeepCopy()
		st.Attempts = appendAttempt(st.Attempts, ended)
		t.status = st
		return t
	}
	ms := d.delay.Milliseconds()
	ended.RetryDelayMilliseconds = &ms

	next := *st.DeepCopy()
	next.Attempts = appendAttempt(next.Attempts, ended)
	next.Attempt = attempt + 1
	next.State = bkv1.StateEmpty
	next.InvokeCount = 0
	next.Outputs, next.Storage = nil, nil
	next.Error = ""
	next.NextPollTime, next.CallbackDeadline, next.CompletionTime, next.AttemptStartTime = nil, nil, nil, nil
	// A callback prepared by the failed attempt belongs to it: recorded as
	// consumed, it is never delivered to the next one.
	for _, id := range next.PreparedCallbacks {
		next.DeliveredCallbacks = appendUnique(next.DeliveredCallbacks, id)
	}
	next.PreparedCallbacks = nil
	at := metav1.NewTime(d.at)
	next.NextAttemptTime = &at
	clearRetry(&next)
	apimeta.SetStatusCondition(&next.Conditions, metav1.Condition{
		Type: bkv1.ConditionSucceeded, Status: metav1.ConditionUnknown, Reason: bkv1.ReasonRetryScheduled,
		Message:            boundMessage(retryNote(ended, d)),
		LastTransitionTime: metav1.NewTime(now),
	})
	return transition{status: next, requeueAfter: max(d.at.Sub(now), time.Millisecond), executed: t.executed, retried: &d}
}

// retryNote says what failed and when the next attempt runs: the Retrying
// event's note and the Succeeded condition's message.
func retryNote(ended bkv1.AttemptStatus, d retryDecision) string {
	return fmt.Sprintf("attempt %d failed (%s, %s): %s; attempt %d starts at %s (backoff %s)",
		ended.Attempt, ended.Reason, d.kind, ended.Error, ended.Attempt+1, d.at.UTC().Format(time.RFC3339), d.delay)
}

// attemptStart is when the attempt that st ends began: the invocation's
// start for the first, attemptStartTime for later ones, now when unknown.
func attemptStart(st *bkv1.PluginInvocationStatus, now time.Time) *metav1.Time {
	start := st.StartTime
	if st.Attempt > 1 {
		start = st.AttemptStartTime
	}
	if start == nil {
		return ptrTime(now)
	}
	return start.DeepCopy()
}

// appendAttempt appends a to list, keeping the last MaxAttemptHistory.
func appendAttempt(list []bkv1.AttemptStatus, a bkv1.AttemptStatus) []bkv1.AttemptStatus {
	list = append(list, a)
	if n := len(list) - bkv1.MaxAttemptHistory; n > 0 {
		list = slices.Clone(list[n:])
	}
	return list
}

func deadlineOf(inv *bkv1.PluginInvocation) *time.Time {
	if d, ok := invocationDeadline(inv); ok {
		return &d
	}
	return nil
}

func ptrTime(t time.Time) *metav1.Time {
	m := metav1.NewTime(t)
	return &m
}

// retryEvent is the Retrying event of a scheduled retry.
func retryEvent(st *bkv1.PluginInvocationStatus, d *retryDecision) invocationEvent {
	ended := st.Attempts[len(st.Attempts)-1]
	return invocationEvent{eventType: corev1.EventTypeWarning, reason: bkv1.EventReasonRetrying, note: truncate(retryNote(ended, *d), 1024)}
}
