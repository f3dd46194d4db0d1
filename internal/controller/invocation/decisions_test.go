package invocation

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// These tables test the invocation reconciler's decisions without a
// cluster; the envtest suite proves the wiring around them.

// registered is a PluginVersion of plugin p, version v, Ready when ready.
func registered(v string, ready bool) bkv1.PluginVersion {
	plv := bkv1.PluginVersion{
		ObjectMeta: metav1.ObjectMeta{Name: "p-" + v, CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))},
		Spec:       bkv1.PluginVersionSpec{Plugin: "p", Version: v},
	}
	if ready {
		plv.Status.Conditions = []metav1.Condition{{Type: bkv1.ConditionReady, Status: metav1.ConditionTrue, Reason: bkv1.VersionReasonServing}}
	}
	return plv
}

func TestChooseVersion(t *testing.T) {
	versions := []bkv1.PluginVersion{registered("1.0.0", true), registered("1.1.0", true), registered("2.0.0", false)}
	cases := []struct {
		name        string
		inv         *bkv1.PluginInvocation
		versions    []bkv1.PluginVersion
		now         time.Time
		wantVersion string
		wantReason  string
		wantMessage string
		wantWait    time.Duration
	}{
		{name: "an exact version", inv: invocation(""), versions: versions, now: t0, wantVersion: "1.0.0"},
		{name: "a constraint picks the newest Ready match",
			inv: invocation("", func(i *bkv1.PluginInvocation) { i.Spec.Version = "^1.0" }), versions: versions, now: t0, wantVersion: "1.1.0"},
		{name: "the recorded version wins over spec.version",
			inv: invocation(bkv1.StatePoll, func(i *bkv1.PluginInvocation) {
				i.Spec.Version = "^1.0"
				i.Status.ResolvedVersion = "1.0.0"
			}), versions: versions, now: t0, wantVersion: "1.0.0"},
		{name: "a recorded version deleted while running fails",
			inv:      invocation(bkv1.StatePoll, func(i *bkv1.PluginInvocation) { i.Status.ResolvedVersion = "1.0.0" }),
			versions: versions[1:], now: t0, wantReason: bkv1.ReasonVersionDeleted,
			wantMessage: "PluginVersion p 1.0.0 was deleted while the invocation ran"},
		{name: "no match within the cache's grace waits for the cache",
			inv: invocation("", func(i *bkv1.PluginInvocation) { i.Spec.Version = "3.0.0" }), versions: versions,
			now: t0.Add(cacheLagGrace - time.Millisecond), wantWait: 500 * time.Millisecond},
		{name: "no match after the grace fails",
			inv: invocation("", func(i *bkv1.PluginInvocation) { i.Spec.Version = "3.0.0" }), versions: versions,
			now: t0.Add(cacheLagGrace), wantReason: bkv1.ReasonNoVersion, wantMessage: "no version of p matches 3.0.0"},
		{name: "no versions at all after the grace fails",
			inv: invocation(""), now: t0.Add(time.Minute), wantReason: bkv1.ReasonNoVersion, wantMessage: "no version of p matches 1.0.0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := chooseVersion(tc.versions, tc.inv, tc.now)
			if got.wait != tc.wantWait {
				t.Errorf("wait = %v, want %v", got.wait, tc.wantWait)
			}
			switch {
			case tc.wantVersion != "":
				if got.plv == nil || got.plv.Spec.Version != tc.wantVersion || got.failure != nil {
					t.Fatalf("choice = %+v, want version %s", got, tc.wantVersion)
				}
			case tc.wantReason != "":
				if got.failure == nil || got.failure.reason != tc.wantReason || got.failure.message != tc.wantMessage || got.plv != nil {
					t.Fatalf("choice = %+v (failure %+v), want failure %s %q", got, got.failure, tc.wantReason, tc.wantMessage)
				}
			default:
				if got.plv != nil || got.failure != nil {
					t.Fatalf("choice = %+v, want only a wait", got)
				}
			}
		})
	}
}

func TestApplyExecuteError(t *testing.T) {
	policy := retryPolicy{budget: time.Minute, initial: time.Second, maxWait: 8 * time.Second}
	endpoint := "http://p:8080/bk_plugin/execute/1.0.0"
	cases := []struct {
		name       string
		err        error
		wantState  bkv1.InvocationState
		wantReason string
		wantErr    string
		wantAfter  time.Duration
	}{
		{name: "a transport failure is retried",
			err:       &callError{Endpoint: endpoint, Cause: errors.New("connection refused"), Retryable: true},
			wantState: bkv1.StateEmpty, wantReason: bkv1.ReasonRetrying, wantAfter: time.Second},
		{name: "a wrapped transport failure is retried",
			err:       fmt.Errorf("execute: %w", &callError{Endpoint: endpoint, Cause: errors.New("HTTP 503: busy"), Retryable: true}),
			wantState: bkv1.StateEmpty, wantReason: bkv1.ReasonRetrying, wantAfter: time.Second},
		{name: "an answer too long to read ends FAIL storage too large",
			err:       &callError{Endpoint: endpoint, Cause: &answerTooLargeError{Limit: 100}},
			wantState: bkv1.StateFail, wantReason: bkv1.ReasonStorageTooLarge,
			wantErr: "calling plugin pod " + endpoint + ": storage too large: the answer exceeds 100 bytes"},
		{name: "a broken answer ends FAIL protocol error",
			err:       &callError{Endpoint: endpoint, Cause: errors.New("answer breaks the plugin pod protocol: invalid character")},
			wantState: bkv1.StateFail, wantReason: bkv1.ReasonProtocolError,
			wantErr: "calling plugin pod " + endpoint + ": answer breaks the plugin pod protocol: invalid character"},
		{name: "a message that merely says too large is no storage error",
			err:       &callError{Endpoint: endpoint, Cause: errors.New("HTTP 400: storage too large, says the pod")},
			wantState: bkv1.StateFail, wantReason: bkv1.ReasonProtocolError,
			wantErr: "calling plugin pod " + endpoint + ": HTTP 400: storage too large, says the pod"},
		{name: "an error that is no call error is not retried",
			err:       errors.New("something else"),
			wantState: bkv1.StateFail, wantReason: bkv1.ReasonProtocolError, wantErr: "something else"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := applyExecuteError(invocation(bkv1.StateEmpty), tc.err, t0, policy)
			if got.status.State != tc.wantState || got.status.Error != tc.wantErr || got.requeueAfter != tc.wantAfter {
				t.Fatalf("state %s error %q requeue %v, want %s %q %v", got.status.State, got.status.Error, got.requeueAfter,
					tc.wantState, tc.wantErr, tc.wantAfter)
			}
			condType := bkv1.ConditionSucceeded
			if tc.wantReason == bkv1.ReasonRetrying {
				condType = bkv1.ConditionRetrying
			}
			if c := apimeta.FindStatusCondition(got.status.Conditions, condType); c == nil || c.Reason != tc.wantReason {
				t.Errorf("%s condition = %+v, want reason %s", condType, c, tc.wantReason)
			}
			if got.executed {
				t.Error("a failed call is not an execute")
			}
		})
	}
}

func TestFinalStatus(t *testing.T) {
	started := at(-time.Minute)
	cases := []struct {
		name        string
		inv         *bkv1.PluginInvocation
		t           transition
		version     string
		wantState   bkv1.InvocationState
		wantVersion string
		wantStart   time.Time
	}{
		{name: "a first write records the start, the version and EMPTY",
			inv: invocation(""), t: transition{}, version: "1.0.0",
			wantState: bkv1.StateEmpty, wantVersion: "1.0.0", wantStart: t0},
		{name: "a later write keeps the start and the recorded version",
			inv:       invocation(bkv1.StatePoll),
			t:         transition{status: bkv1.PluginInvocationStatus{State: bkv1.StatePoll, StartTime: started, ResolvedVersion: "1.0.0"}},
			wantState: bkv1.StatePoll, wantVersion: "1.0.0", wantStart: started.Time},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.inv.Generation = 3
			st := finalStatus(tc.inv, "trace", tc.version, tc.t, t0)
			if st.State != tc.wantState || st.ResolvedVersion != tc.wantVersion || st.TraceID != "trace" || st.ObservedGeneration != 3 {
				t.Errorf("status = %+v", st)
			}
			if st.StartTime == nil || !st.StartTime.Time.Equal(tc.wantStart) {
				t.Errorf("startTime = %v, want %v", st.StartTime, tc.wantStart)
			}
			if tc.t.status.StartTime == nil && tc.t.status.TraceID != "" {
				t.Error("finalStatus modified the transition")
			}
		})
	}
}

func TestTooLargeFallback(t *testing.T) {
	refused := &statusTooLargeError{err: apierrors.NewRequestEntityTooLargeError("limit is 3145728")}
	withStorage := transition{executed: true, status: bkv1.PluginInvocationStatus{State: bkv1.StatePoll, Storage: js(`{"a":1}`), Outputs: js(`{"b":2}`)}}
	cases := []struct {
		name     string
		inv      *bkv1.PluginInvocation
		t        transition
		err      error
		fallback bool
	}{
		{name: "a refused answer with storage ends FAIL without it", inv: invocation(bkv1.StateEmpty), t: withStorage, err: refused, fallback: true},
		{name: "a wrapped refusal is recognised", inv: invocation(bkv1.StateEmpty), t: withStorage,
			err: fmt.Errorf("update: %w", refused), fallback: true},
		{name: "a refusal of a status without outputs or storage is an error",
			inv: invocation(bkv1.StateEmpty), t: transition{status: bkv1.PluginInvocationStatus{State: bkv1.StatePoll}}, err: refused},
		{name: "a refused notification of a finished invocation is an error",
			inv: invocation(bkv1.StateSuccess), t: transition{status: bkv1.PluginInvocationStatus{State: bkv1.StateSuccess, Outputs: js(`{}`)}}, err: refused},
		{name: "another failure is an error", inv: invocation(bkv1.StateEmpty), t: withStorage,
			err: apierrors.NewServiceUnavailable("etcd is away")},
		{name: "text alone is not a refusal", inv: invocation(bkv1.StateEmpty), t: withStorage,
			err: errors.New("storage too large")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fb, ok := tooLargeFallback(tc.inv, tc.t, tc.err, t0)
			if ok != tc.fallback {
				t.Fatalf("fallback = %v, want %v", ok, tc.fallback)
			}
			if !ok {
				return
			}
			st := fb.status
			if st.State != bkv1.StateFail || st.Storage != nil || st.Outputs != nil {
				t.Errorf("fallback status = %+v, want FAIL without outputs and storage", st)
			}
			if want := "storage too large: the API server refused the invocation's status: "; !strings.HasPrefix(st.Error, want) {
				t.Errorf("error = %q, want prefix %q", st.Error, want)
			}
			if c := apimeta.FindStatusCondition(st.Conditions, bkv1.ConditionSucceeded); c == nil || c.Reason != bkv1.ReasonStorageTooLarge {
				t.Errorf("Succeeded condition = %+v", c)
			}
		})
	}
}

func TestClassifyStatusWriteError(t *testing.T) {
	gr := schema.GroupResource{Group: "bkplugin.io", Resource: "plugininvocations"}
	cases := []struct {
		name     string
		err      error
		tooLarge bool
	}{
		{"413 from the API server", apierrors.NewRequestEntityTooLargeError("limit is 3145728"), true},
		{"etcd's request size limit", apierrors.NewInternalError(errors.New("etcdserver: request is too large")), true},
		{"a conflict", apierrors.NewConflict(gr, "x", errors.New("modified")), false},
		{"an unavailable API server", apierrors.NewServiceUnavailable("later"), false},
		{"a transport error that mentions size", errors.New("dial tcp: too large"), false},
		{"no error", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := classifyStatusWriteError(tc.err)
			var tl *statusTooLargeError
			if errors.As(got, &tl) != tc.tooLarge {
				t.Fatalf("classified %v as too large = %v, want %v", tc.err, !tc.tooLarge, tc.tooLarge)
			}
			if tc.err != nil && got.Error() != tc.err.Error() {
				t.Errorf("message changed: %q, want %q", got.Error(), tc.err.Error())
			}
			if tc.err != nil && !errors.Is(got, tc.err) {
				t.Error("classified error does not wrap the original")
			}
		})
	}
}

func TestKeepUnwritten(t *testing.T) {
	gr := schema.GroupResource{Group: "bkplugin.io", Resource: "plugininvocations"}
	cases := []struct {
		name     string
		executed bool
		err      error
		keep     bool
	}{
		{"an answer the API server could not take now", true, apierrors.NewServiceUnavailable("later"), true},
		{"an answer whose object changed", true, apierrors.NewConflict(gr, "x", errors.New("modified")), false},
		{"an answer whose object is gone", true, apierrors.NewNotFound(gr, "x"), false},
		{"a failure decided without an execute", false, apierrors.NewServiceUnavailable("later"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := keepUnwritten(transition{executed: tc.executed}, tc.err); got != tc.keep {
				t.Errorf("keepUnwritten = %v, want %v", got, tc.keep)
			}
		})
	}
}

func TestConsumedCallbacks(t *testing.T) {
	annotations := map[string]string{
		bkv1.CallbackAnnotationPrefix + "a": "{}",
		bkv1.CallbackAnnotationPrefix + "b": "{}",
		"other":                             "x",
	}
	got := consumedCallbacks(annotations, []string{"gone", "a", "b"})
	want := bkv1.CallbackAnnotationPrefix + "a," + bkv1.CallbackAnnotationPrefix + "b"
	if strings.Join(got, ",") != want {
		t.Errorf("consumed = %v, want %s", got, want)
	}
	if got := consumedCallbacks(nil, []string{"a"}); got != nil {
		t.Errorf("consumed without annotations = %v", got)
	}
}

func TestRequeueAfterWrite(t *testing.T) {
	now := t0.Add(300 * time.Millisecond)
	cases := []struct {
		name  string
		state bkv1.InvocationState
		t     transition
		due   time.Time
		want  time.Duration
	}{
		{name: "a finished invocation goes on to notification and TTL", state: bkv1.StateSuccess,
			t: transition{executed: true, requeueAfter: time.Hour}, want: time.Millisecond},
		{name: "a queued callback is delivered at once", state: bkv1.StateCallback,
			t: transition{executed: true, requeueNow: true}, want: time.Millisecond},
		{name: "a poll wakes at the exact due time, less the call and the write", state: bkv1.StatePoll,
			t: transition{executed: true, requeueAfter: time.Second}, due: t0.Add(time.Second), want: 700 * time.Millisecond},
		{name: "a poll already due wakes at once", state: bkv1.StatePoll,
			t: transition{executed: true, requeueAfter: time.Second}, due: t0, want: time.Millisecond},
		{name: "a poll time not from an execute keeps the transition's wait", state: bkv1.StatePoll,
			t: transition{requeueAfter: 2 * time.Second}, due: t0.Add(time.Second), want: 2 * time.Second},
		{name: "a retry waits its backoff", state: bkv1.StateEmpty,
			t: transition{requeueAfter: 4 * time.Second}, want: 4 * time.Second},
		{name: "a callback wait without deadline waits for events", state: bkv1.StateCallback,
			t: transition{executed: true}, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := bkv1.PluginInvocationStatus{State: tc.state}
			if got := requeueAfterWrite(&st, tc.t, tc.due, now); got != tc.want {
				t.Errorf("requeue = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPollDue(t *testing.T) {
	next := at(time.Second)
	for _, tc := range []struct {
		st   bkv1.PluginInvocationStatus
		want time.Time
	}{
		{bkv1.PluginInvocationStatus{State: bkv1.StatePoll, NextPollTime: next}, next.Time},
		{bkv1.PluginInvocationStatus{State: bkv1.StatePoll}, time.Time{}},
		{bkv1.PluginInvocationStatus{State: bkv1.StateSuccess, NextPollTime: next}, time.Time{}},
	} {
		if got := pollDue(&tc.st); !got.Equal(tc.want) {
			t.Errorf("pollDue(%s) = %v, want %v", tc.st.State, got, tc.want)
		}
	}
}

func TestTransitionEvent(t *testing.T) {
	st := func(state bkv1.InvocationState, mutate ...func(*bkv1.PluginInvocationStatus)) *bkv1.PluginInvocationStatus {
		s := &bkv1.PluginInvocationStatus{State: state, InvokeCount: 2}
		for _, m := range mutate {
			m(s)
		}
		return s
	}
	retried := func(n int32) func(*bkv1.PluginInvocationStatus) {
		return func(s *bkv1.PluginInvocationStatus) { s.RetryCount = n }
	}
	failed := func(reason, msg string) func(*bkv1.PluginInvocationStatus) {
		return func(s *bkv1.PluginInvocationStatus) {
			s.Error = msg
			s.Conditions = []metav1.Condition{{Type: bkv1.ConditionSucceeded, Status: metav1.ConditionFalse, Reason: reason}}
		}
	}
	polling := func(s *bkv1.PluginInvocationStatus) { s.NextPollTime = at(time.Minute) }
	cases := []struct {
		name       string
		before     *bkv1.PluginInvocationStatus
		after      *bkv1.PluginInvocationStatus
		wantEmit   bool
		wantReason string
		wantNote   string
		entered    bool
	}{
		// The life cycle is status, not events: each would be a write.
		{name: "EMPTY -> SUCCESS is no event", before: st(bkv1.StateEmpty), after: st(bkv1.StateSuccess), entered: true},
		{name: "EMPTY -> POLL is no event", before: st(bkv1.StateEmpty), after: st(bkv1.StatePoll, polling), entered: true},
		{name: "EMPTY -> CALLBACK is no event", before: st(bkv1.StateEmpty), after: st(bkv1.StateCallback), entered: true},
		{name: "POLL -> POLL is no event", before: st(bkv1.StatePoll), after: st(bkv1.StatePoll, polling)},
		{name: "CALLBACK -> CALLBACK is no event", before: st(bkv1.StateCallback), after: st(bkv1.StateCallback)},
		{name: "POLL -> SUCCESS is no event", before: st(bkv1.StatePoll), after: st(bkv1.StateSuccess), entered: true},
		{name: "a first write of EMPTY is no event", before: st(""), after: st(bkv1.StateEmpty)},
		// What an operator must notice is a warning.
		{name: "POLL -> FAIL names the reason and the error", before: st(bkv1.StatePoll),
			after:    st(bkv1.StateFail, failed(bkv1.ReasonPluginFailed, "boom")),
			wantEmit: true, wantReason: "Failed", wantNote: "failed after 2 executes: PluginFailed: boom", entered: true},
		{name: "a wait gone wrong: callback timeout", before: st(bkv1.StateCallback),
			after:    st(bkv1.StateFail, failed(bkv1.ReasonCallbackTimeout, "no callback within 1s")),
			wantEmit: true, wantReason: "Failed", wantNote: "failed after 2 executes: CallbackTimeout: no callback within 1s", entered: true},
		{name: "cancel", before: st(bkv1.StatePoll),
			after:    st(bkv1.StateFail, failed(bkv1.ReasonCancelled, "cancelled")),
			wantEmit: true, wantReason: "Failed", wantNote: "failed after 2 executes: Cancelled: cancelled", entered: true},
		{name: "a long error is truncated", before: st(bkv1.StatePoll),
			after:    st(bkv1.StateFail, func(s *bkv1.PluginInvocationStatus) { s.Error = strings.Repeat("x", 600) }),
			wantEmit: true, wantReason: "Failed", wantNote: "failed after 2 executes: " + strings.Repeat("x", 512) + "…", entered: true},
		{name: "FAIL written again is no event", before: st(bkv1.StateFail, failed(bkv1.ReasonPluginFailed, "boom")),
			after: st(bkv1.StateFail, failed(bkv1.ReasonPluginFailed, "boom"))},
		{name: "a failed call is a warning", before: st(bkv1.StateEmpty), after: st(bkv1.StateEmpty, retried(1)),
			wantEmit: true, wantReason: bkv1.ReasonRetrying, wantNote: "calling the plugin pod failed 1 times; retrying"},
		{name: "each further failed call is one", before: st(bkv1.StatePoll, retried(2)), after: st(bkv1.StatePoll, retried(3)),
			wantEmit: true, wantReason: bkv1.ReasonRetrying, wantNote: "calling the plugin pod failed 3 times; retrying"},
		{name: "a call that works again after retries is no event", before: st(bkv1.StatePoll, retried(3)),
			after: st(bkv1.StatePoll, polling)},
		{name: "a write that changes nothing is no event", before: st(bkv1.StateEmpty), after: st(bkv1.StateEmpty)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := enteredState(tc.before, tc.after); got != tc.entered {
				t.Errorf("enteredState = %v, want %v", got, tc.entered)
			}
			ev, ok := transitionEvent(tc.before, tc.after)
			if ok != tc.wantEmit {
				t.Fatalf("emit = %v, want %v (%+v)", ok, tc.wantEmit, ev)
			}
			if !ok {
				return
			}
			if ev.eventType != corev1.EventTypeWarning || ev.reason != tc.wantReason || ev.note != tc.wantNote {
				t.Errorf("event = %+v, want Warning %s %q", ev, tc.wantReason, tc.wantNote)
			}
		})
	}
}

func TestPlanFinished(t *testing.T) {
	done := func(i *bkv1.PluginInvocation) { i.Status.CompletionTime = at(time.Hour) }
	notify := func(i *bkv1.PluginInvocation) {
		i.Spec.FinishNotification = &bkv1.FinishNotification{URL: "http://sink", Data: js(`{}`)}
	}
	notified := func(reason string, status metav1.ConditionStatus) func(*bkv1.PluginInvocation) {
		return func(i *bkv1.PluginInvocation) {
			i.Status.Conditions = append(i.Status.Conditions, metav1.Condition{Type: bkv1.ConditionNotified, Status: status, Reason: reason})
		}
	}
	arch := func(i *bkv1.PluginInvocation) { i.Status.ArchivedTime = at(time.Hour + time.Second) }
	ttl := 24 * time.Hour
	cases := []struct {
		name string
		inv  *bkv1.PluginInvocation
		now  time.Time
		want finishStep
	}{
		{name: "a notification not yet sent is sent first",
			inv: invocation(bkv1.StateSuccess, done, notify), now: t0.Add(48 * time.Hour), want: finishStep{notify: true}},
		{name: "a notification being retried is sent again",
			inv: invocation(bkv1.StateFail, done, notify, notified(bkv1.ReasonRetrying, metav1.ConditionFalse)), now: t0.Add(2 * time.Hour),
			want: finishStep{notify: true}},
		{name: "a sent notification leads to archiving",
			inv: invocation(bkv1.StateSuccess, done, notify, notified(bkv1.ReasonNotificationSent, metav1.ConditionTrue)), now: t0.Add(2 * time.Hour),
			want: finishStep{archive: true}},
		{name: "a notification given up leads to archiving",
			inv: invocation(bkv1.StateFail, done, notify, notified(bkv1.ReasonNotifyFailed, metav1.ConditionFalse)), now: t0.Add(2 * time.Hour),
			want: finishStep{archive: true}},
		{name: "without a notification it is archived at once",
			inv: invocation(bkv1.StateSuccess, done), now: t0.Add(time.Hour), want: finishStep{archive: true}},
		{name: "not archived, it is never deleted, past its time",
			inv: invocation(bkv1.StateSuccess, done), now: t0.Add(time.Hour + 10*ttl), want: finishStep{archive: true}},
		{name: "not archived, it is never deleted, even with a zero TTL",
			inv: invocation(bkv1.StateFail, done, func(i *bkv1.PluginInvocation) { i.Spec.TTLSecondsAfterFinished = ptr.To[int32](0) }),
			now: t0.Add(time.Hour), want: finishStep{archive: true}},
		{name: "still down: archiving is tried again",
			inv: invocation(bkv1.StateSuccess, done, func(i *bkv1.PluginInvocation) {
				i.Status.Conditions = append(i.Status.Conditions, metav1.Condition{Type: bkv1.ConditionArchived, Status: metav1.ConditionFalse, Reason: bkv1.ReasonArchiveUnavailable})
			}), now: t0.Add(2 * time.Hour), want: finishStep{archive: true}},
		{name: "archived: keep-finished runs from completion",
			inv: invocation(bkv1.StateSuccess, done, arch), now: t0.Add(time.Hour), want: finishStep{requeueAfter: ttl}},
		{name: "archived after a notification: the rest of keep-finished",
			inv: invocation(bkv1.StateSuccess, done, notify, notified(bkv1.ReasonNotificationSent, metav1.ConditionTrue), arch), now: t0.Add(2 * time.Hour),
			want: finishStep{requeueAfter: 23 * time.Hour}},
		{name: "the invocation's own TTL wins",
			inv: invocation(bkv1.StateSuccess, done, arch, func(i *bkv1.PluginInvocation) { i.Spec.TTLSecondsAfterFinished = ptr.To[int32](60) }),
			now: t0.Add(time.Hour), want: finishStep{requeueAfter: time.Minute}},
		{name: "archived, at the expiry it is deleted",
			inv: invocation(bkv1.StateSuccess, done, arch), now: t0.Add(time.Hour + ttl), want: finishStep{expire: true}},
		{name: "archived after an outage longer than keep-finished: deleted at once",
			inv: invocation(bkv1.StateSuccess, done, func(i *bkv1.PluginInvocation) { i.Status.ArchivedTime = at(time.Hour + 2*ttl) }),
			now: t0.Add(time.Hour + 2*ttl), want: finishStep{expire: true}},
		{name: "archived, a zero TTL deletes at once",
			inv: invocation(bkv1.StateFail, done, arch, func(i *bkv1.PluginInvocation) { i.Spec.TTLSecondsAfterFinished = ptr.To[int32](0) }),
			now: t0.Add(time.Hour), want: finishStep{expire: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := planFinished(tc.inv, tc.now, ttl); got != tc.want {
				t.Errorf("planFinished = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPrepareInputs(t *testing.T) {
	vault := &bkv1.PluginVersion{
		ObjectMeta: metav1.ObjectMeta{Name: "vault-1-0-0", UID: "vault", ResourceVersion: "1"},
		Spec: bkv1.PluginVersionSpec{Plugin: "vault", Version: "1.0.0", TaskJSON: taskjson.MustParse([]byte(`{
			"input": {
				"token": {"label": "Token", "type": "vuex-input", "required": true, "isSensitive": true, "rule": {"min": 8}},
				"note": {"label": "Note", "type": "vuex-input"}
			},
			"output": {"echo": {"type": "string", "isSensitive": true}}
		}`))},
	}
	compiled, err := versions.NewCache().Get(vault)
	if err != nil {
		t.Fatalf("compile the vault version: %v", err)
	}
	secret := map[string]json.RawMessage{"token": json.RawMessage(`"s3cret-token"`)}
	withInputs := func(inputs string, invokeCount int32) *bkv1.PluginInvocation {
		return invocation(bkv1.StateEmpty, func(i *bkv1.PluginInvocation) {
			i.Name = "inv"
			i.Spec.Inputs = js(inputs)
			i.Status.InvokeCount = invokeCount
		})
	}
	cases := []struct {
		name       string
		inv        *bkv1.PluginInvocation
		secret     map[string]json.RawMessage
		wantInputs string
		wantFail   string // prefix of the failure message; "" for none
	}{
		{name: "the Secret's inputs are laid over spec.inputs", inv: withInputs(`{"note":"hi"}`, 0), secret: secret,
			wantInputs: `{"note":"hi","token":"s3cret-token"}`},
		{name: "a sensitive input in clear fails, naming the field and the Secret", inv: withInputs(`{"token":"in-the-clear"}`, 0), secret: secret,
			wantFail: `inputs validation error: sensitive inputs must not be given in spec.inputs, where every reader sees them: token; put them in key "inputs" of Secret inv-sensitive`},
		{name: "a sensitive input set to null is not in clear", inv: withInputs(`{"token":null}`, 0), secret: secret,
			wantInputs: `{"token":"s3cret-token"}`},
		{name: "a required sensitive input missing from the Secret fails validation", inv: withInputs(`{"note":"hi"}`, 0),
			wantFail: "inputs validation error: "},
		{name: "inputs are not validated again after the first execute", inv: withInputs(`{"note":"hi"}`, 1),
			wantInputs: `{"note":"hi"}`},
		{name: "spec.inputs that are no object cannot take the Secret's", inv: withInputs(`[1]`, 1), secret: secret,
			wantFail: "spec.inputs is not a JSON object: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inputs, f := prepareInputs(tc.inv, compiled, tc.secret)
			if tc.wantFail != "" {
				if f == nil || f.reason != bkv1.ReasonInvalidInputs || !strings.HasPrefix(f.message, tc.wantFail) {
					t.Fatalf("failure = %+v, want %s %q...", f, bkv1.ReasonInvalidInputs, tc.wantFail)
				}
				if strings.Contains(f.message, "s3cret-token") || strings.Contains(f.message, "in-the-clear") {
					t.Errorf("failure message %q quotes a sensitive value", f.message)
				}
				return
			}
			if f != nil {
				t.Fatalf("failure = %+v, want inputs", f)
			}
			var got, want map[string]any
			if err := json.Unmarshal(inputs, &got); err != nil {
				t.Fatalf("inputs %s: %v", inputs, err)
			}
			if err := json.Unmarshal([]byte(tc.wantInputs), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("inputs = %s, want %s", inputs, tc.wantInputs)
			}
		})
	}
}
