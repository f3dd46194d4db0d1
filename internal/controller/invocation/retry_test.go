package invocation

import (
	"errors"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

func backoff(initial, factor, maxDelay, jitter int32) *bkv1.RetryBackoff {
	return &bkv1.RetryBackoff{InitialSeconds: &initial, Factor: &factor, MaxDelaySeconds: &maxDelay, JitterPercent: &jitter}
}

func TestRetryBackoff(t *testing.T) {
	cases := []struct {
		name   string
		b      *bkv1.RetryBackoff
		n      int32
		random float64
		want   time.Duration
	}{
		{"defaults, first retry, no jitter drawn", nil, 1, 0, 5 * time.Second},
		{"defaults, third retry", nil, 3, 0, 20 * time.Second},
		{"defaults capped at 300s", nil, 10, 0, 300 * time.Second},
		{"default jitter takes up to 10%, half of it drawn", nil, 1, 0.5, 4750 * time.Millisecond},
		{"exponential from 1s by 2", backoff(1, 2, 60, 0), 1, 0.99, time.Second},
		{"second retry doubles", backoff(1, 2, 60, 0), 2, 0.99, 2 * time.Second},
		{"fourth retry", backoff(1, 2, 60, 0), 4, 0, 8 * time.Second},
		{"factor 1 is constant", backoff(3, 1, 60, 0), 7, 0, 3 * time.Second},
		{"capped at max delay", backoff(10, 3, 60, 0), 3, 0, 60 * time.Second},
		{"jitter applies below the cap", backoff(10, 3, 60, 50), 3, 1, 30 * time.Second},
		{"full jitter, random 0.25", backoff(4, 2, 60, 100), 1, 0.25, 3 * time.Second},
		{"initial 0 retries at once", backoff(0, 2, 60, 10), 5, 0.3, 0},
		{"huge retry number never overflows", backoff(86400, 10, 86400, 0), 100, 0, 86400 * time.Second},
		{"random out of range is clamped", backoff(10, 1, 60, 20), 1, 7, 8 * time.Second},
		{"partial backoff takes defaults for the rest", &bkv1.RetryBackoff{InitialSeconds: ptr.To[int32](2)}, 2, 0, 4 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := retryBackoff(c.b, c.n, c.random); got != c.want {
				t.Errorf("retryBackoff(n=%d, random=%v) = %v, want %v", c.n, c.random, got, c.want)
			}
		})
	}
}

func TestDecideRetry(t *testing.T) {
	now := t0.Add(1500 * time.Millisecond)
	policy := func(limit int32, on ...bkv1.RetryOn) *bkv1.RetryPolicy {
		return &bkv1.RetryPolicy{Limit: limit, Backoff: backoff(2, 2, 60, 50), RetryOn: on}
	}
	deadline := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	cases := []struct {
		name     string
		policy   *bkv1.RetryPolicy
		attempt  int32
		reason   string
		timedOut bool
		deadline *time.Time
		random   float64
		want     retryDecision
	}{
		{name: "no policy", reason: bkv1.ReasonPluginFailed, attempt: 1,
			want: retryDecision{kind: bkv1.RetryOnPluginFailed, why: "no retry policy"}},
		{name: "plugin FAIL is retried after the backoff, start rounded up to the second",
			policy: policy(3), attempt: 1, reason: bkv1.ReasonPluginFailed,
			want: retryDecision{retry: true, kind: bkv1.RetryOnPluginFailed, delay: 2 * time.Second, at: t0.Add(4 * time.Second)}},
		{name: "jitter drawn shortens the wait",
			policy: policy(3), attempt: 2, reason: bkv1.ReasonPluginFailed, random: 0.5,
			want: retryDecision{retry: true, kind: bkv1.RetryOnPluginFailed, delay: 3 * time.Second, at: t0.Add(5 * time.Second)}},
		{name: "transport failure", policy: policy(1), attempt: 1, reason: bkv1.ReasonUnreachable,
			want: retryDecision{retry: true, kind: bkv1.RetryOnTransport, delay: 2 * time.Second, at: t0.Add(4 * time.Second)}},
		{name: "an execute timing out is a Timeout", policy: policy(1, bkv1.RetryOnTimeout), attempt: 1, reason: bkv1.ReasonUnreachable, timedOut: true,
			want: retryDecision{retry: true, kind: bkv1.RetryOnTimeout, delay: 2 * time.Second, at: t0.Add(4 * time.Second)}},
		{name: "a callback timeout is a Timeout", policy: policy(1), attempt: 1, reason: bkv1.ReasonCallbackTimeout,
			want: retryDecision{retry: true, kind: bkv1.RetryOnTimeout, delay: 2 * time.Second, at: t0.Add(4 * time.Second)}},
		{name: "retryOn leaves a kind out", policy: policy(3, bkv1.RetryOnTransport, bkv1.RetryOnTimeout), attempt: 1, reason: bkv1.ReasonPluginFailed,
			want: retryDecision{kind: bkv1.RetryOnPluginFailed, why: "the policy does not retry PluginFailed failures"}},
		{name: "a transport-only policy does not retry a timeout", policy: policy(3, bkv1.RetryOnTransport), attempt: 1, reason: bkv1.ReasonUnreachable, timedOut: true,
			want: retryDecision{kind: bkv1.RetryOnTimeout, why: "the policy does not retry Timeout failures"}},
		{name: "limit reached", policy: policy(2), attempt: 3, reason: bkv1.ReasonPluginFailed,
			want: retryDecision{kind: bkv1.RetryOnPluginFailed, why: "retry limit 2 reached"}},
		{name: "last retry allowed", policy: policy(2), attempt: 2, reason: bkv1.ReasonPluginFailed,
			want: retryDecision{retry: true, kind: bkv1.RetryOnPluginFailed, delay: 4 * time.Second, at: t0.Add(6 * time.Second)}},
		{name: "limit 0 retries nothing", policy: policy(0), attempt: 1, reason: bkv1.ReasonPluginFailed,
			want: retryDecision{kind: bkv1.RetryOnPluginFailed, why: "retry limit 0 reached"}},
		{name: "cancel is never retried", policy: policy(5), attempt: 1, reason: bkv1.ReasonCancelled,
			want: retryDecision{why: "reason Cancelled is never retried"}},
		{name: "the invocation's deadline is never retried", policy: policy(5), attempt: 1, reason: bkv1.ReasonDeadline,
			want: retryDecision{why: "reason DeadlineExceeded is never retried"}},
		{name: "invalid inputs are never retried", policy: policy(5), attempt: 1, reason: bkv1.ReasonInvalidInputs,
			want: retryDecision{why: "reason InvalidInputs is never retried"}},
		{name: "a protocol error is never retried", policy: policy(5), attempt: 1, reason: bkv1.ReasonProtocolError,
			want: retryDecision{why: "reason ProtocolError is never retried"}},
		{name: "a retry past the deadline is not scheduled", policy: policy(5), attempt: 1, reason: bkv1.ReasonPluginFailed, deadline: deadline(4 * time.Second),
			want: retryDecision{kind: bkv1.RetryOnPluginFailed, why: "the next attempt would start after the invocation's deadline"}},
		{name: "a retry before the deadline is", policy: policy(5), attempt: 1, reason: bkv1.ReasonPluginFailed, deadline: deadline(5 * time.Second),
			want: retryDecision{retry: true, kind: bkv1.RetryOnPluginFailed, delay: 2 * time.Second, at: t0.Add(4 * time.Second)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := decideRetry(c.policy, c.attempt, c.reason, c.timedOut, now, c.deadline, c.random)
			if got != c.want {
				t.Errorf("decideRetry = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestEffectiveRetryPolicy(t *testing.T) {
	version := &bkv1.PluginVersion{Spec: bkv1.PluginVersionSpec{Retry: &bkv1.RetryPolicy{Limit: 3}}}
	own := &bkv1.RetryPolicy{Limit: 0}
	cases := []struct {
		name string
		inv  *bkv1.PluginInvocation
		plv  *bkv1.PluginVersion
		want *bkv1.RetryPolicy
	}{
		{"none anywhere", invocation(""), &bkv1.PluginVersion{}, nil},
		{"the version's", invocation(""), version, version.Spec.Retry},
		{"the invocation's wins, limit 0 included", invocation("", func(i *bkv1.PluginInvocation) { i.Spec.Retry = own }), version, own},
		{"no version known", invocation(""), nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := effectiveRetryPolicy(c.inv, c.plv); got != c.want {
				t.Errorf("effectiveRetryPolicy = %v, want %v", got, c.want)
			}
		})
	}
}

func TestApplyRetry(t *testing.T) {
	policy := &bkv1.RetryPolicy{Limit: 2, Backoff: backoff(1, 2, 60, 0)}
	now := t0.Add(10 * time.Second)
	limits := transitionLimits{}

	// A poller on its second execute of attempt 1, with a callback prepared.
	running := invocation(bkv1.StatePoll, func(i *bkv1.PluginInvocation) {
		i.Status.InvokeCount = 1
		i.Status.StartTime = at(0)
		i.Status.Storage = js(`{"k":1}`)
		i.Status.Outputs = js(`{"o":1}`)
		i.Status.PreparedCallbacks = []string{"cb1"}
		i.Status.Logs = []string{"line of attempt 1"}
	})
	fail := applyAnswer(running, &protocol.ExecuteResponse{State: protocol.StateFail, Error: "boom", Outputs: []byte(`{"o":2}`)}, nil, nil, now, limits)

	t.Run("a retried FAIL starts a clean attempt after the backoff", func(t *testing.T) {
		got := applyRetry(running, fail, policy, now, 0)
		st := got.status
		if got.retried == nil || !got.retried.retry {
			t.Fatalf("not retried: %+v", got.retried)
		}
		if st.State != bkv1.StateEmpty || st.Attempt != 2 || st.InvokeCount != 0 || st.Outputs != nil || st.Storage != nil || st.Error != "" || st.CompletionTime != nil {
			t.Errorf("the new attempt is not clean: %+v", st)
		}
		if st.NextAttemptTime == nil || !st.NextAttemptTime.Time.Equal(t0.Add(11*time.Second)) {
			t.Errorf("nextAttemptTime = %v, want t0+11s", st.NextAttemptTime)
		}
		if got.requeueAfter != time.Second {
			t.Errorf("requeueAfter = %v, want 1s", got.requeueAfter)
		}
		if len(st.PreparedCallbacks) != 0 || len(st.DeliveredCallbacks) != 1 || st.DeliveredCallbacks[0] != "cb1" {
			t.Errorf("the failed attempt's callback must be consumed, not carried: prepared %v delivered %v", st.PreparedCallbacks, st.DeliveredCallbacks)
		}
		if len(st.Logs) != 1 {
			t.Errorf("the invocation's log is kept across attempts: %v", st.Logs)
		}
		want := bkv1.AttemptStatus{Attempt: 1, State: bkv1.StateFail, Reason: bkv1.ReasonPluginFailed, Error: "boom", InvokeCount: 2,
			StartTime: at(0), CompletionTime: at(10 * time.Second), RetryDelayMilliseconds: ptr.To[int64](1000)}
		if len(st.Attempts) != 1 || !attemptEqual(st.Attempts[0], want) {
			t.Errorf("attempts = %+v, want [%+v]", st.Attempts, want)
		}
		c := apimeta.FindStatusCondition(st.Conditions, bkv1.ConditionSucceeded)
		if c == nil || c.Status != metav1.ConditionUnknown || c.Reason != bkv1.ReasonRetryScheduled || !strings.Contains(c.Message, "attempt 2 starts at") {
			t.Errorf("Succeeded condition = %+v", c)
		}
		ev := retryEvent(&st, got.retried)
		if ev.reason != bkv1.EventReasonRetrying || ev.eventType != "Warning" || !strings.Contains(ev.note, "boom") {
			t.Errorf("event = %+v", ev)
		}
		if s := planStep(&bkv1.PluginInvocation{ObjectMeta: running.ObjectMeta, Status: st}, nil, now.Add(300*time.Millisecond)); s.kind != stepWait || s.requeueAfter != 700*time.Millisecond {
			t.Errorf("before nextAttemptTime the invocation waits: %+v", s)
		}
		if s := planStep(&bkv1.PluginInvocation{ObjectMeta: running.ObjectMeta, Status: st}, nil, now.Add(time.Second)); s.kind != stepExecute {
			t.Errorf("at nextAttemptTime the invocation executes: %+v", s)
		}
	})

	t.Run("the retry limit ends FAIL with every attempt recorded", func(t *testing.T) {
		third := invocation(bkv1.StateEmpty, func(i *bkv1.PluginInvocation) {
			i.Status.Attempt = 3
			i.Status.AttemptStartTime = at(8 * time.Second)
			i.Status.Attempts = []bkv1.AttemptStatus{{Attempt: 1}, {Attempt: 2}}
		})
		t3 := applyAnswer(third, &protocol.ExecuteResponse{State: protocol.StateFail, Error: "still"}, nil, nil, now, limits)
		got := applyRetry(third, t3, policy, now, 0)
		if got.retried != nil || got.status.State != bkv1.StateFail || got.status.Error != "still" {
			t.Fatalf("want FAIL, got %+v retried %+v", got.status.State, got.retried)
		}
		a := got.status.Attempts
		if len(a) != 3 || a[2].Attempt != 3 || a[2].State != bkv1.StateFail || a[2].RetryDelayMilliseconds != nil || !a[2].StartTime.Time.Equal(t0.Add(8*time.Second)) {
			t.Errorf("attempts = %+v", a)
		}
	})

	t.Run("a success under a policy records its attempt", func(t *testing.T) {
		ok := applyAnswer(running, &protocol.ExecuteResponse{State: protocol.StateSuccess}, nil, nil, now, limits)
		got := applyRetry(running, ok, policy, now, 0)
		if got.status.State != bkv1.StateSuccess || len(got.status.Attempts) != 1 || got.status.Attempts[0].State != bkv1.StateSuccess {
			t.Errorf("got %+v", got.status)
		}
	})

	t.Run("no policy leaves the transition as it is", func(t *testing.T) {
		got := applyRetry(running, fail, nil, now, 0)
		if got.status.State != bkv1.StateFail || got.status.Attempts != nil {
			t.Errorf("got %+v", got.status)
		}
	})

	t.Run("a running attempt is not touched", func(t *testing.T) {
		poll := applyAnswer(running, &protocol.ExecuteResponse{State: protocol.StatePoll, PollIntervalSeconds: 1}, nil, nil, now, limits)
		got := applyRetry(running, poll, policy, now, 0)
		if got.status.State != bkv1.StatePoll || got.status.Attempts != nil {
			t.Errorf("got %+v", got.status)
		}
	})

	t.Run("a transport timeout is retried under Timeout only", func(t *testing.T) {
		callErr := &callError{Endpoint: "http://pod", Cause: errors.New("no answer"), Retryable: true, Timeout: true}
		gaveUp := applyCallError(running, callErr, now, 0, time.Second, time.Second)
		if !gaveUp.timedOut || gaveUp.status.State != bkv1.StateFail {
			t.Fatalf("applyCallError past its budget = %+v", gaveUp)
		}
		onlyTransport := &bkv1.RetryPolicy{Limit: 1, RetryOn: []bkv1.RetryOn{bkv1.RetryOnTransport}}
		if got := applyRetry(running, gaveUp, onlyTransport, now, 0); got.retried != nil {
			t.Errorf("a Transport-only policy retried a timeout")
		}
		onlyTimeout := &bkv1.RetryPolicy{Limit: 1, RetryOn: []bkv1.RetryOn{bkv1.RetryOnTimeout}}
		if got := applyRetry(running, gaveUp, onlyTimeout, now, 0); got.retried == nil || got.retried.kind != bkv1.RetryOnTimeout {
			t.Errorf("a Timeout policy did not retry a timeout: %+v", got.retried)
		}
	})

	t.Run("the history keeps the last attempts", func(t *testing.T) {
		var list []bkv1.AttemptStatus
		for i := int32(1); i <= bkv1.MaxAttemptHistory+3; i++ {
			list = appendAttempt(list, bkv1.AttemptStatus{Attempt: i})
		}
		if len(list) != bkv1.MaxAttemptHistory || list[0].Attempt != 4 || list[len(list)-1].Attempt != bkv1.MaxAttemptHistory+3 {
			t.Errorf("history = %+v", list)
		}
	})
}

func TestExecuteRequestCarriesTheAttempt(t *testing.T) {
	plv := &bkv1.PluginVersion{Spec: bkv1.PluginVersionSpec{Version: "1.0.0"}}
	for _, c := range []struct {
		attempt int32
		want    int
	}{{0, 1}, {1, 1}, {3, 3}} {
		inv := invocation(bkv1.StateEmpty, func(i *bkv1.PluginInvocation) { i.Status.Attempt = c.attempt })
		if got := buildExecuteRequest(inv, plv, inv.Name, nil, Options{}); got.Attempt != c.want || got.InvokeCount != 1 {
			t.Errorf("status.attempt %d: request attempt %d invoke_count %d, want %d and 1", c.attempt, got.Attempt, got.InvokeCount, c.want)
		}
	}
}

func TestExpectationsOrderAttempts(t *testing.T) {
	e := newWriteExpectations()
	key := types.NamespacedName{Namespace: "ns", Name: "a"}
	e.wrote(key, "u", &bkv1.PluginInvocationStatus{State: bkv1.StateEmpty, Attempt: 2, InvokeCount: 0})
	if !e.stale(key, "u", &bkv1.PluginInvocationStatus{State: bkv1.StatePoll, Attempt: 1, InvokeCount: 3}) {
		t.Errorf("a cached copy of the previous attempt, with a higher invoke count, must be stale")
	}
	if e.stale(key, "u", &bkv1.PluginInvocationStatus{State: bkv1.StateEmpty, Attempt: 2}) {
		t.Errorf("the written attempt is not stale")
	}
}

func attemptEqual(a, b bkv1.AttemptStatus) bool {
	timeEq := func(x, y *metav1.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Time.Equal(y.Time)) }
	return a.Attempt == b.Attempt && a.State == b.State && a.Reason == b.Reason && a.Error == b.Error && a.InvokeCount == b.InvokeCount &&
		timeEq(a.StartTime, b.StartTime) && timeEq(a.CompletionTime, b.CompletionTime) &&
		ptr.Deref(a.RetryDelayMilliseconds, -1) == ptr.Deref(b.RetryDelayMilliseconds, -1)
}
