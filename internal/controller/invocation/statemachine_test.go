package invocation

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { t := metav1.NewTime(t0.Add(d)); return &t }

func js(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }

// invocation builds an invocation created at t0 in state with mutations.
func invocation(state bkv1.InvocationState, mutate ...func(*bkv1.PluginInvocation)) *bkv1.PluginInvocation {
	inv := &bkv1.PluginInvocation{
		ObjectMeta: metav1.ObjectMeta{Name: "0123456789abcdef0123456789abcdef", CreationTimestamp: metav1.NewTime(t0)},
		Spec:       bkv1.PluginInvocationSpec{Plugin: "p", Version: "1.0.0"},
		Status:     bkv1.PluginInvocationStatus{State: state},
	}
	for _, m := range mutate {
		m(inv)
	}
	return inv
}

func TestPlanStep(t *testing.T) {
	cb := func(id string, d time.Duration) pendingCallback {
		return pendingCallback{ID: id, ReceivedAt: t0.Add(d), Data: json.RawMessage(`{}`)}
	}
	cases := []struct {
		name         string
		inv          *bkv1.PluginInvocation
		pending      []pendingCallback
		now          time.Time
		wantKind     stepKind
		wantAfter    time.Duration
		wantCallback string
		wantMessage  string
	}{
		{name: "new invocation executes", inv: invocation(""), now: t0, wantKind: stepExecute},
		{name: "EMPTY executes", inv: invocation(bkv1.StateEmpty), now: t0, wantKind: stepExecute},
		{name: "EMPTY keeps an early callback for later", inv: invocation(bkv1.StateEmpty), pending: []pendingCallback{cb("a", 0)}, now: t0, wantKind: stepExecute},
		{name: "a first execute the shim holds is not made again before its hold ends",
			inv: invocation("", func(i *bkv1.PluginInvocation) {
				i.Annotations = map[string]string{bkv1.AnnotationFirstExecute: t0.Add(40 * time.Second).UTC().Format(time.RFC3339)}
			}),
			now: t0.Add(10 * time.Second), wantKind: stepWait, wantAfter: 30 * time.Second},
		{name: "a shim hold that passed without an answer executes (the shim died)",
			inv: invocation("", func(i *bkv1.PluginInvocation) {
				i.Annotations = map[string]string{bkv1.AnnotationFirstExecute: t0.Add(40 * time.Second).UTC().Format(time.RFC3339)}
			}),
			now: t0.Add(40 * time.Second), wantKind: stepExecute},
		{name: "a shim hold that is not a time lasts the grace",
			inv: invocation("", func(i *bkv1.PluginInvocation) {
				i.Annotations = map[string]string{bkv1.AnnotationFirstExecute: "shim"}
			}),
			now: t0, wantKind: stepWait, wantAfter: bkv1.FirstExecuteGraceSeconds * time.Second},
		{name: "a shim hold never lasts past its bound",
			inv: invocation("", func(i *bkv1.PluginInvocation) {
				i.Annotations = map[string]string{bkv1.AnnotationFirstExecute: t0.Add(1000 * time.Hour).UTC().Format(time.RFC3339)}
			}),
			now: t0, wantKind: stepWait, wantAfter: bkv1.FirstExecuteMaxHoldSeconds * time.Second},
		{name: "POLL recorded by the shim waits for its poll time, no execute again",
			inv: invocation(bkv1.StatePoll, func(i *bkv1.PluginInvocation) {
				i.Annotations = map[string]string{bkv1.AnnotationFirstExecute: t0.Add(40 * time.Second).UTC().Format(time.RFC3339)}
				i.Status.InvokeCount = 1
				i.Status.NextPollTime = at(10 * time.Second)
			}),
			now: t0.Add(4 * time.Second), wantKind: stepWait, wantAfter: 6 * time.Second},
		{name: "CALLBACK recorded by the shim waits for its callback",
			inv: invocation(bkv1.StateCallback, func(i *bkv1.PluginInvocation) {
				i.Annotations = map[string]string{bkv1.AnnotationFirstExecute: t0.Add(40 * time.Second).UTC().Format(time.RFC3339)}
				i.Status.InvokeCount = 1
			}),
			now: t0, wantKind: stepWait},
		{name: "POLL before its time waits for it",
			inv: invocation(bkv1.StatePoll, func(i *bkv1.PluginInvocation) { i.Status.NextPollTime = at(10 * time.Second) }),
			now: t0.Add(4 * time.Second), wantKind: stepWait, wantAfter: 6 * time.Second},
		{name: "POLL at its time executes",
			inv: invocation(bkv1.StatePoll, func(i *bkv1.PluginInvocation) { i.Status.NextPollTime = at(10 * time.Second) }),
			now: t0.Add(10 * time.Second), wantKind: stepExecute},
		{name: "POLL with a callback pending still waits for its poll time",
			inv:     invocation(bkv1.StatePoll, func(i *bkv1.PluginInvocation) { i.Status.NextPollTime = at(10 * time.Second) }),
			pending: []pendingCallback{cb("a", 0)}, now: t0.Add(time.Second), wantKind: stepWait, wantAfter: 9 * time.Second},
		{name: "POLL waits no later than the deadline",
			inv: invocation(bkv1.StatePoll, func(i *bkv1.PluginInvocation) {
				i.Status.NextPollTime = at(time.Hour)
				i.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
			}),
			now: t0.Add(30 * time.Second), wantKind: stepWait, wantAfter: 30 * time.Second},
		{name: "CALLBACK without a callback waits for an event, no polling", inv: invocation(bkv1.StateCallback), now: t0, wantKind: stepWait},
		{name: "CALLBACK delivers the earliest callback",
			inv: invocation(bkv1.StateCallback), pending: []pendingCallback{cb("first", 0), cb("second", time.Second)},
			now: t0, wantKind: stepExecute, wantCallback: "first"},
		{name: "CALLBACK waits until its callback deadline",
			inv: invocation(bkv1.StateCallback, func(i *bkv1.PluginInvocation) { i.Status.CallbackDeadline = at(time.Minute) }),
			now: t0.Add(20 * time.Second), wantKind: stepWait, wantAfter: 40 * time.Second},
		{name: "CALLBACK past its callback deadline fails",
			inv: invocation(bkv1.StateCallback, func(i *bkv1.PluginInvocation) { i.Status.CallbackDeadline = at(time.Minute) }),
			now: t0.Add(time.Minute), wantKind: stepFail, wantMessage: "callback timeout"},
		{name: "a callback that arrived in time is delivered even past the callback deadline",
			inv:     invocation(bkv1.StateCallback, func(i *bkv1.PluginInvocation) { i.Status.CallbackDeadline = at(time.Minute) }),
			pending: []pendingCallback{cb("a", 0)}, now: t0.Add(2 * time.Minute), wantKind: stepExecute, wantCallback: "a"},
		{name: "cancel fails any running state",
			inv: invocation(bkv1.StatePoll, func(i *bkv1.PluginInvocation) { i.Spec.Cancel = true; i.Status.NextPollTime = at(time.Hour) }),
			now: t0, wantKind: stepFail, wantMessage: "cancelled"},
		{name: "cancel wins over a pending callback",
			inv:     invocation(bkv1.StateCallback, func(i *bkv1.PluginInvocation) { i.Spec.Cancel = true }),
			pending: []pendingCallback{cb("a", 0)}, now: t0, wantKind: stepFail, wantMessage: "cancelled"},
		{name: "past the deadline fails timeout",
			inv: invocation(bkv1.StateEmpty, func(i *bkv1.PluginInvocation) { i.Spec.ActiveDeadlineSeconds = ptr.To[int64](5) }),
			now: t0.Add(5 * time.Second), wantKind: stepFail, wantMessage: "timeout"},
		{name: "CALLBACK with a deadline requeues at the deadline",
			inv: invocation(bkv1.StateCallback, func(i *bkv1.PluginInvocation) { i.Spec.ActiveDeadlineSeconds = ptr.To[int64](5) }),
			now: t0.Add(2 * time.Second), wantKind: stepWait, wantAfter: 3 * time.Second},
		{name: "SUCCESS does nothing", inv: invocation(bkv1.StateSuccess, func(i *bkv1.PluginInvocation) { i.Spec.Cancel = true }), now: t0, wantKind: stepWait},
		{name: "FAIL does nothing", inv: invocation(bkv1.StateFail), pending: []pendingCallback{cb("a", 0)}, now: t0, wantKind: stepWait},
		{name: "an unknown state fails", inv: invocation("RUNNING"), now: t0, wantKind: stepFail, wantMessage: `invocation is in unknown state "RUNNING"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := planStep(tc.inv, tc.pending, tc.now)
			if got.kind != tc.wantKind {
				t.Fatalf("kind = %v, want %v (%+v)", got.kind, tc.wantKind, got)
			}
			if got.requeueAfter != tc.wantAfter {
				t.Errorf("requeueAfter = %v, want %v", got.requeueAfter, tc.wantAfter)
			}
			if id := ""; got.callback != nil {
				id = got.callback.ID
				if id != tc.wantCallback {
					t.Errorf("callback = %q, want %q", id, tc.wantCallback)
				}
			} else if tc.wantCallback != "" {
				t.Errorf("no callback delivered, want %q", tc.wantCallback)
			}
			if got.message != tc.wantMessage {
				t.Errorf("message = %q, want %q", got.message, tc.wantMessage)
			}
		})
	}
}

func TestApplyAnswer(t *testing.T) {
	limits := transitionLimits{maxStatusBytes: 1000}
	now := t0.Add(time.Minute)
	cases := []struct {
		name       string
		inv        *bkv1.PluginInvocation
		answer     protocol.ExecuteResponse
		delivered  *pendingCallback
		pending    []pendingCallback
		wantState  bkv1.InvocationState
		wantErr    string
		wantAfter  time.Duration
		wantNow    bool
		wantReason string
		check      func(t *testing.T, st bkv1.PluginInvocationStatus)
	}{
		{name: "EMPTY -> SUCCESS keeps outputs and storage", inv: invocation(bkv1.StateEmpty),
			answer:    protocol.ExecuteResponse{State: protocol.StateSuccess, Outputs: json.RawMessage(`{"greeting":"hi"}`), Storage: json.RawMessage(`{"k":null}`)},
			wantState: bkv1.StateSuccess, wantReason: bkv1.ReasonSucceeded,
			check: func(t *testing.T, st bkv1.PluginInvocationStatus) {
				if string(st.Outputs.Raw) != `{"greeting":"hi"}` || string(st.Storage.Raw) != `{"k":null}` {
					t.Errorf("outputs %s storage %s", st.Outputs.Raw, st.Storage.Raw)
				}
				if st.CompletionTime == nil || !st.CompletionTime.Time.Equal(now) {
					t.Errorf("completionTime = %v", st.CompletionTime)
				}
			}},
		{name: "log lines of each answer are kept after those of earlier executes",
			inv:       invocation(bkv1.StatePoll, func(i *bkv1.PluginInvocation) { i.Status.Logs = []string{"first execute"} }),
			answer:    protocol.ExecuteResponse{State: protocol.StatePoll, PollIntervalSeconds: 1, Logs: []string{"second", "execute\x00"}},
			wantState: bkv1.StatePoll, wantAfter: time.Second, wantReason: bkv1.ReasonRunning,
			check: func(t *testing.T, st bkv1.PluginInvocationStatus) {
				if strings.Join(st.Logs, "|") != "first execute|second|execute\uFFFD" || st.LogLinesDropped != 0 {
					t.Errorf("logs %q dropped %d", st.Logs, st.LogLinesDropped)
				}
			}},
		{name: "log lines of a protocol error are kept too", inv: invocation(bkv1.StateEmpty),
			answer:    protocol.ExecuteResponse{State: protocol.StatePoll, PollIntervalSeconds: -1, Logs: []string{"why it broke"}},
			wantState: bkv1.StateFail, wantReason: bkv1.ReasonProtocolError, wantErr: "plugin asked to poll after a negative interval (-1s)",
			check: func(t *testing.T, st bkv1.PluginInvocationStatus) {
				if len(st.Logs) != 1 || st.Logs[0] != "why it broke" {
					t.Errorf("logs %q", st.Logs)
				}
			}},
		{name: "EMPTY -> FAIL with the plugin's message", inv: invocation(bkv1.StateEmpty),
			answer:    protocol.ExecuteResponse{State: protocol.StateFail, Error: "boom"},
			wantState: bkv1.StateFail, wantErr: "boom", wantReason: bkv1.ReasonPluginFailed},
		{name: "FAIL without a message still says something", inv: invocation(bkv1.StatePoll),
			answer:    protocol.ExecuteResponse{State: protocol.StateFail},
			wantState: bkv1.StateFail, wantErr: "plugin failed without a message", wantReason: bkv1.ReasonPluginFailed},
		{name: "EMPTY -> POLL sets the next poll time", inv: invocation(bkv1.StateEmpty),
			answer:    protocol.ExecuteResponse{State: protocol.StatePoll, PollIntervalSeconds: 2.5},
			wantState: bkv1.StatePoll, wantAfter: 2500 * time.Millisecond, wantReason: bkv1.ReasonRunning,
			check: func(t *testing.T, st bkv1.PluginInvocationStatus) {
				if !st.NextPollTime.Time.Equal(now.Add(2500 * time.Millisecond)) {
					t.Errorf("nextPollTime = %v", st.NextPollTime)
				}
			}},
		{name: "POLL -> POLL with interval zero polls at once", inv: invocation(bkv1.StatePoll, func(i *bkv1.PluginInvocation) { i.Status.NextPollTime = at(0) }),
			answer:    protocol.ExecuteResponse{State: protocol.StatePoll},
			wantState: bkv1.StatePoll, wantAfter: time.Millisecond, wantReason: bkv1.ReasonRunning},
		{name: "POLL -> SUCCESS clears the poll time", inv: invocation(bkv1.StatePoll, func(i *bkv1.PluginInvocation) { i.Status.NextPollTime = at(0) }),
			answer:    protocol.ExecuteResponse{State: protocol.StateSuccess},
			wantState: bkv1.StateSuccess, wantReason: bkv1.ReasonSucceeded,
			check: func(t *testing.T, st bkv1.PluginInvocationStatus) {
				if st.NextPollTime != nil {
					t.Errorf("nextPollTime = %v, want nil", st.NextPollTime)
				}
			}},
		{name: "POLL with a negative interval breaks the protocol", inv: invocation(bkv1.StateEmpty),
			answer:    protocol.ExecuteResponse{State: protocol.StatePoll, PollIntervalSeconds: -1},
			wantState: bkv1.StateFail, wantErr: "plugin asked to poll after a negative interval (-1s)", wantReason: bkv1.ReasonProtocolError},
		{name: "EMPTY -> CALLBACK records prepared callbacks and waits for an event", inv: invocation(bkv1.StateEmpty),
			answer:    protocol.ExecuteResponse{State: protocol.StateCallback, Callbacks: []protocol.PreparedCallback{{ID: "c1"}, {ID: "c2"}}},
			wantState: bkv1.StateCallback, wantReason: bkv1.ReasonRunning,
			check: func(t *testing.T, st bkv1.PluginInvocationStatus) {
				if strings.Join(st.PreparedCallbacks, ",") != "c1,c2" {
					t.Errorf("preparedCallbacks = %v", st.PreparedCallbacks)
				}
			}},
		{name: "CALLBACK with a timeout sets the callback deadline", inv: invocation(bkv1.StateEmpty),
			answer:    protocol.ExecuteResponse{State: protocol.StateCallback, CallbackTimeoutSeconds: 30},
			wantState: bkv1.StateCallback, wantAfter: 30 * time.Second, wantReason: bkv1.ReasonRunning},
		{name: "CALLBACK with callbacks queued delivers the next at once", inv: invocation(bkv1.StatePoll),
			answer:    protocol.ExecuteResponse{State: protocol.StateCallback},
			pending:   []pendingCallback{{ID: "early"}},
			wantState: bkv1.StateCallback, wantNow: true, wantReason: bkv1.ReasonRunning},
		{name: "CALLBACK -> SUCCESS records the delivered callback", inv: invocation(bkv1.StateCallback),
			answer:    protocol.ExecuteResponse{State: protocol.StateSuccess},
			delivered: &pendingCallback{ID: "c1"},
			wantState: bkv1.StateSuccess, wantReason: bkv1.ReasonSucceeded,
			check: func(t *testing.T, st bkv1.PluginInvocationStatus) {
				if strings.Join(st.DeliveredCallbacks, ",") != "c1" {
					t.Errorf("deliveredCallbacks = %v", st.DeliveredCallbacks)
				}
			}},
		{name: "CALLBACK -> CALLBACK waits for the next callback", inv: invocation(bkv1.StateCallback, func(i *bkv1.PluginInvocation) {
			i.Status.DeliveredCallbacks = []string{"c0"}
		}),
			answer:    protocol.ExecuteResponse{State: protocol.StateCallback},
			delivered: &pendingCallback{ID: "c1"},
			wantState: bkv1.StateCallback, wantReason: bkv1.ReasonRunning,
			check: func(t *testing.T, st bkv1.PluginInvocationStatus) {
				if strings.Join(st.DeliveredCallbacks, ",") != "c0,c1" {
					t.Errorf("deliveredCallbacks = %v", st.DeliveredCallbacks)
				}
			}},
		{name: "CALLBACK -> FAIL", inv: invocation(bkv1.StateCallback),
			answer:    protocol.ExecuteResponse{State: protocol.StateFail, Error: "the callback asked to fail"},
			delivered: &pendingCallback{ID: "c1"},
			wantState: bkv1.StateFail, wantErr: "the callback asked to fail", wantReason: bkv1.ReasonPluginFailed},
		{name: "an answer of EMPTY breaks the protocol", inv: invocation(bkv1.StateEmpty),
			answer:    protocol.ExecuteResponse{State: protocol.StateEmpty},
			wantState: bkv1.StateFail, wantErr: "plugin answered state EMPTY; an execute must end POLL, CALLBACK, SUCCESS or FAIL", wantReason: bkv1.ReasonProtocolError},
		{name: "an answer without a state breaks the protocol", inv: invocation(bkv1.StateEmpty),
			answer:    protocol.ExecuteResponse{},
			wantState: bkv1.StateFail, wantErr: "plugin answered state State(0); an execute must end POLL, CALLBACK, SUCCESS or FAIL", wantReason: bkv1.ReasonProtocolError},
		{name: "an unknown protocol version is refused", inv: invocation(bkv1.StateEmpty),
			answer:    protocol.ExecuteResponse{ProtocolVersion: "9", State: protocol.StateSuccess},
			wantState: bkv1.StateFail, wantErr: `plugin answered with protocol version "9", the operator speaks "1"`, wantReason: bkv1.ReasonProtocolError},
		{name: "outputs that are not an object break the protocol", inv: invocation(bkv1.StateEmpty),
			answer:    protocol.ExecuteResponse{State: protocol.StateSuccess, Outputs: json.RawMessage(`[1,2]`)},
			wantState: bkv1.StateFail, wantErr: "plugin answered outputs that is not a JSON object: [1,2]", wantReason: bkv1.ReasonProtocolError},
		{name: "absent outputs and storage keep the previous ones", inv: invocation(bkv1.StatePoll, func(i *bkv1.PluginInvocation) {
			i.Status.Outputs, i.Status.Storage = js(`{"a":1}`), js(`{"b":2}`)
		}),
			answer:    protocol.ExecuteResponse{State: protocol.StateSuccess},
			wantState: bkv1.StateSuccess, wantReason: bkv1.ReasonSucceeded,
			check: func(t *testing.T, st bkv1.PluginInvocationStatus) {
				if string(st.Outputs.Raw) != `{"a":1}` || string(st.Storage.Raw) != `{"b":2}` {
					t.Errorf("outputs %s storage %s", st.Outputs.Raw, st.Storage.Raw)
				}
			}},
		{name: "storage over the limit fails and is dropped", inv: invocation(bkv1.StateEmpty),
			answer:    protocol.ExecuteResponse{State: protocol.StatePoll, Storage: json.RawMessage(`{"blob":"` + strings.Repeat("x", 1000) + `"}`)},
			wantState: bkv1.StateFail, wantErr: "storage too large: outputs and storage take 1011 bytes, over the limit of 1000 bytes", wantReason: bkv1.ReasonStorageTooLarge,
			check: func(t *testing.T, st bkv1.PluginInvocationStatus) {
				if st.Storage != nil || st.Outputs != nil {
					t.Errorf("storage %v outputs %v, want both dropped", st.Storage, st.Outputs)
				}
			}},
		{name: "a successful execute clears the retry state", inv: invocation(bkv1.StateEmpty, func(i *bkv1.PluginInvocation) {
			i.Status.RetryCount = 3
			apimeta.SetStatusCondition(&i.Status.Conditions, metav1.Condition{Type: bkv1.ConditionRetrying, Status: metav1.ConditionTrue, Reason: bkv1.ReasonRetrying})
		}),
			answer:    protocol.ExecuteResponse{State: protocol.StateSuccess},
			wantState: bkv1.StateSuccess, wantReason: bkv1.ReasonSucceeded,
			check: func(t *testing.T, st bkv1.PluginInvocationStatus) {
				if st.RetryCount != 0 || apimeta.FindStatusCondition(st.Conditions, bkv1.ConditionRetrying) != nil {
					t.Errorf("retry state kept: %d %v", st.RetryCount, st.Conditions)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.inv.DeepCopy()
			got := applyAnswer(tc.inv, &tc.answer, tc.delivered, tc.pending, now, limits)
			st := got.status
			if st.State != tc.wantState {
				t.Fatalf("state = %s, want %s (error %q)", st.State, tc.wantState, st.Error)
			}
			if st.Error != tc.wantErr {
				t.Errorf("error = %q, want %q", st.Error, tc.wantErr)
			}
			if st.InvokeCount != before.Status.InvokeCount+1 {
				t.Errorf("invokeCount = %d, want %d", st.InvokeCount, before.Status.InvokeCount+1)
			}
			if got.requeueAfter != tc.wantAfter || got.requeueNow != tc.wantNow {
				t.Errorf("requeue after %v now %v, want %v %v", got.requeueAfter, got.requeueNow, tc.wantAfter, tc.wantNow)
			}
			c := apimeta.FindStatusCondition(st.Conditions, bkv1.ConditionSucceeded)
			if c == nil || c.Reason != tc.wantReason {
				t.Errorf("Succeeded condition = %+v, want reason %s", c, tc.wantReason)
			}
			if tc.check != nil {
				tc.check(t, st)
			}
			if tc.inv.Status.InvokeCount != before.Status.InvokeCount || tc.inv.Status.State != before.Status.State {
				t.Error("applyAnswer modified its input")
			}
		})
	}
}

func TestApplyCallError(t *testing.T) {
	budget, initial, maxWait := time.Minute, time.Second, 8*time.Second
	cause := errors.New("calling plugin pod http://p:8080/bk_plugin/execute/1.0.0: connection refused")

	inv := invocation(bkv1.StateEmpty)
	var waits []time.Duration
	now := t0
	for range 5 {
		tr := applyCallError(inv, cause, now, budget, initial, maxWait)
		if tr.status.State != bkv1.StateEmpty {
			t.Fatalf("state = %s within the budget, want EMPTY", tr.status.State)
		}
		c := apimeta.FindStatusCondition(tr.status.Conditions, bkv1.ConditionRetrying)
		if c == nil || !c.LastTransitionTime.Time.Equal(t0) {
			t.Fatalf("Retrying condition = %+v, want one whose time is the first failure", c)
		}
		waits = append(waits, tr.requeueAfter)
		inv.Status = tr.status
		now = now.Add(tr.requeueAfter)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("backoff = %v, want %v", waits, want)
		}
	}
	if inv.Status.RetryCount != 5 {
		t.Fatalf("retryCount = %d, want 5", inv.Status.RetryCount)
	}

	tr := applyCallError(inv, cause, t0.Add(budget), budget, initial, maxWait)
	if tr.status.State != bkv1.StateFail {
		t.Fatalf("state = %s past the budget, want FAIL", tr.status.State)
	}
	wantMsg := cause.Error() + " (gave up after 6 attempts in 1m0s)"
	if tr.status.Error != wantMsg {
		t.Errorf("error = %q, want %q", tr.status.Error, wantMsg)
	}
	if c := apimeta.FindStatusCondition(tr.status.Conditions, bkv1.ConditionSucceeded); c == nil || c.Reason != bkv1.ReasonUnreachable {
		t.Errorf("Succeeded condition = %+v", c)
	}
}

func TestApplyNotification(t *testing.T) {
	inv := invocation(bkv1.StateSuccess, func(i *bkv1.PluginInvocation) {
		i.Spec.FinishNotification = &bkv1.FinishNotification{URL: "http://sink"}
	})
	if !notificationDue(inv) {
		t.Fatal("a finished invocation with a notification URL is due")
	}
	tr := applyNotification(inv, errors.New("HTTP 503"), t0, time.Minute, time.Second, time.Minute)
	inv.Status = tr.status
	if !notificationDue(inv) || tr.requeueAfter != time.Second {
		t.Fatalf("after one failure: due=%v requeue=%v, want due and 1s", notificationDue(inv), tr.requeueAfter)
	}
	tr = applyNotification(inv, nil, t0.Add(time.Second), time.Minute, time.Second, time.Minute)
	inv.Status = tr.status
	c := apimeta.FindStatusCondition(inv.Status.Conditions, bkv1.ConditionNotified)
	if notificationDue(inv) || c.Status != metav1.ConditionTrue || inv.Status.State != bkv1.StateSuccess {
		t.Fatalf("after success: due=%v condition=%+v state=%s", notificationDue(inv), c, inv.Status.State)
	}

	inv = invocation(bkv1.StateFail, func(i *bkv1.PluginInvocation) {
		i.Spec.FinishNotification = &bkv1.FinishNotification{URL: "http://sink"}
	})
	inv.Status = applyNotification(inv, errors.New("refused"), t0, time.Minute, time.Second, time.Minute).status
	inv.Status = applyNotification(inv, errors.New("refused"), t0.Add(time.Minute), time.Minute, time.Second, time.Minute).status
	c = apimeta.FindStatusCondition(inv.Status.Conditions, bkv1.ConditionNotified)
	if notificationDue(inv) || c.Status != metav1.ConditionFalse || c.Reason != bkv1.ReasonNotifyFailed {
		t.Fatalf("past the budget: due=%v condition=%+v", notificationDue(inv), c)
	}
	if !strings.Contains(c.Message, "refused (gave up after 2 attempts)") {
		t.Errorf("message = %q", c.Message)
	}
}

func TestTTLExpiry(t *testing.T) {
	inv := invocation(bkv1.StateSuccess, func(i *bkv1.PluginInvocation) { i.Status.CompletionTime = at(time.Hour) })
	if got := ttlExpiry(inv, 24*time.Hour); !got.Equal(t0.Add(25 * time.Hour)) {
		t.Errorf("default TTL expiry = %v", got)
	}
	inv.Spec.TTLSecondsAfterFinished = ptr.To[int32](0)
	if got := ttlExpiry(inv, 24*time.Hour); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("zero TTL expiry = %v", got)
	}
}

func TestPendingCallbacks(t *testing.T) {
	ann := func(d time.Duration, data string) string {
		b, _ := json.Marshal(bkv1.CallbackAnnotation{Data: json.RawMessage(data), ReceivedAt: metav1.NewMicroTime(t0.Add(d))})
		return string(b)
	}
	inv := invocation(bkv1.StateCallback, func(i *bkv1.PluginInvocation) {
		i.Annotations = map[string]string{
			bkv1.CallbackAnnotationPrefix + "late":      ann(2*time.Second, `1`),
			bkv1.CallbackAnnotationPrefix + "early":     ann(time.Second, `2`),
			bkv1.CallbackAnnotationPrefix + "delivered": ann(0, `3`),
			bkv1.CallbackAnnotationPrefix + "junk":      "not json",
			"unrelated":                                 "x",
		}
		i.Status.DeliveredCallbacks = []string{"delivered"}
	})
	pending, stale := pendingCallbacks(inv)
	var ids []string
	for _, p := range pending {
		ids = append(ids, p.ID)
	}
	if strings.Join(ids, ",") != "early,late" {
		t.Errorf("pending = %v, want early,late in arrival order", ids)
	}
	if strings.Join(stale, ",") != bkv1.CallbackAnnotationPrefix+"delivered,"+bkv1.CallbackAnnotationPrefix+"junk" {
		t.Errorf("stale = %v", stale)
	}
}

func TestFirstExecuteRecorded(t *testing.T) {
	marked := func(st bkv1.InvocationState, count int32) *bkv1.PluginInvocation {
		inv := invocation(st)
		inv.Annotations = map[string]string{bkv1.AnnotationFirstExecute: "x"}
		inv.Status.InvokeCount = count
		return inv
	}
	plain := func(st bkv1.InvocationState, count int32) *bkv1.PluginInvocation {
		inv := invocation(st)
		inv.Status.InvokeCount = count
		return inv
	}
	for _, tc := range []struct {
		name          string
		before, after *bkv1.PluginInvocation
		want          bool
	}{
		{"the shim records POLL", marked("", 0), marked(bkv1.StatePoll, 1), true},
		{"the shim records a final answer (archive down)", marked("", 0), marked(bkv1.StateSuccess, 1), true},
		{"the manager's own later write is not", marked(bkv1.StatePoll, 1), marked(bkv1.StatePoll, 2), false},
		{"an invocation the shim did not execute is not", plain("", 0), plain(bkv1.StatePoll, 1), false},
	} {
		if got := firstExecuteRecorded(tc.before, tc.after); got != tc.want {
			t.Errorf("%s: firstExecuteRecorded = %v, want %v", tc.name, got, tc.want)
		}
	}
}
