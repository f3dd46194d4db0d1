package invocation

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// These tables are issue 15's findings 5 and 6 (never stuck; bounded poll
// intervals) as pure decisions.

func TestBoundMessage(t *testing.T) {
	cases := []struct {
		name string
		msg  string
	}{
		{"short", "failed"},
		{"exactly the limit", strings.Repeat("x", MaxErrorBytes)},
		{"40,000 characters", strings.Repeat("e", 40000)},
		{"multi-byte runes at the cut", strings.Repeat("密", 20000)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := boundMessage(tc.msg)
			if len(got) > MaxErrorBytes {
				t.Fatalf("len = %d, over %d", len(got), MaxErrorBytes)
			}
			if !utf8.ValidString(got) {
				t.Fatal("cut inside a rune")
			}
			if len(tc.msg) <= MaxErrorBytes {
				if got != tc.msg {
					t.Fatalf("a message within the limit changed: %q", got)
				}
				return
			}
			if want := fmt.Sprintf("(truncated: %d bytes in all)", len(tc.msg)); !strings.HasSuffix(got, want) {
				t.Fatalf("got suffix %q, want %q", got[len(got)-40:], want)
			}
		})
	}
}

func TestApplyAnswerBounds(t *testing.T) {
	callbacks := func(n int) []protocol.PreparedCallback {
		out := make([]protocol.PreparedCallback, n)
		for i := range out {
			out[i] = protocol.PreparedCallback{ID: fmt.Sprintf("cb-%d", i)}
		}
		return out
	}
	limits := transitionLimits{maxCallbacksPerAnswer: 100, maxPreparedCallbacks: 150, minPoll: time.Second, maxPoll: 24 * time.Hour}
	withPrepared := func(n int) func(*bkv1.PluginInvocation) {
		return func(i *bkv1.PluginInvocation) {
			for k := range n {
				i.Status.PreparedCallbacks = append(i.Status.PreparedCallbacks, fmt.Sprintf("old-%d", k))
			}
		}
	}
	cases := []struct {
		name        string
		inv         *bkv1.PluginInvocation
		answer      protocol.ExecuteResponse
		wantState   bkv1.InvocationState
		wantError   string
		wantAfter   time.Duration
		wantNote    string
		wantPrepped int
	}{
		{name: "a FAIL of 40,000 characters ends FAIL with the message cut",
			inv: invocation(bkv1.StateEmpty), answer: protocol.ExecuteResponse{State: protocol.StateFail, Error: strings.Repeat("e", 40000)},
			wantState: bkv1.StateFail, wantError: "(truncated: 40000 bytes in all)"},
		{name: "44,000 callbacks in one answer end FAIL",
			inv: invocation(bkv1.StateEmpty), answer: protocol.ExecuteResponse{State: protocol.StateCallback, Callbacks: callbacks(44000)},
			wantState: bkv1.StateFail, wantError: "plugin prepared 44000 callbacks in one answer, over the limit of 100"},
		{name: "callbacks within the limit are recorded",
			inv: invocation(bkv1.StateEmpty), answer: protocol.ExecuteResponse{State: protocol.StateCallback, Callbacks: callbacks(100)},
			wantState: bkv1.StateCallback, wantPrepped: 100},
		{name: "callbacks past the invocation's limit end FAIL, keeping the ids recorded",
			inv: invocation(bkv1.StatePoll, withPrepared(100)), answer: protocol.ExecuteResponse{State: protocol.StateCallback, Callbacks: callbacks(51)},
			wantState: bkv1.StateFail, wantError: "plugin prepared 151 callbacks in all, over the limit of 150 per invocation", wantPrepped: 100},
		{name: "poll after 1e12 seconds waits the maximum",
			inv: invocation(bkv1.StateEmpty), answer: protocol.ExecuteResponse{State: protocol.StatePoll, PollIntervalSeconds: 1e12},
			wantState: bkv1.StatePoll, wantAfter: 24 * time.Hour, wantNote: "the maximum is 24h0m0s"},
		{name: "poll after 0 seconds waits the minimum",
			inv: invocation(bkv1.StateEmpty), answer: protocol.ExecuteResponse{State: protocol.StatePoll},
			wantState: bkv1.StatePoll, wantAfter: time.Second, wantNote: "the minimum is 1s"},
		{name: "poll after 2.5 seconds waits 2.5 seconds",
			inv: invocation(bkv1.StateEmpty), answer: protocol.ExecuteResponse{State: protocol.StatePoll, PollIntervalSeconds: 2.5},
			wantState: bkv1.StatePoll, wantAfter: 2500 * time.Millisecond},
		{name: "a negative interval is a protocol error",
			inv: invocation(bkv1.StateEmpty), answer: protocol.ExecuteResponse{State: protocol.StatePoll, PollIntervalSeconds: -1},
			wantState: bkv1.StateFail, wantError: "negative interval"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			answer := tc.answer
			tr := applyAnswer(tc.inv, &answer, nil, nil, t0, limits)
			st := tr.status
			if st.State != tc.wantState {
				t.Fatalf("state = %s (%s), want %s", st.State, st.Error, tc.wantState)
			}
			if !strings.Contains(st.Error, tc.wantError) || len(st.Error) > MaxErrorBytes {
				t.Errorf("error = %.200q (len %d), want it to contain %q within %d bytes", st.Error, len(st.Error), tc.wantError, MaxErrorBytes)
			}
			if c := apimeta.FindStatusCondition(st.Conditions, bkv1.ConditionSucceeded); c == nil || len(c.Message) > MaxErrorBytes || !strings.Contains(c.Message, tc.wantNote) {
				t.Errorf("Succeeded condition = %+v, want a bounded message containing %q", c, tc.wantNote)
			}
			if tc.wantAfter != 0 {
				if tr.requeueAfter != tc.wantAfter || !st.NextPollTime.Time.Equal(t0.Add(tc.wantAfter)) {
					t.Errorf("requeueAfter = %s, nextPollTime = %s; want %s after t0", tr.requeueAfter, st.NextPollTime, tc.wantAfter)
				}
			}
			if len(st.PreparedCallbacks) != tc.wantPrepped {
				t.Errorf("prepared callbacks = %d, want %d", len(st.PreparedCallbacks), tc.wantPrepped)
			}
		})
	}
}

func TestPollInterval(t *testing.T) {
	cases := []struct {
		name       string
		seconds    float64
		minP, maxP time.Duration
		want       time.Duration
		clamped    bool
		err        bool
	}{
		{name: "within bounds", seconds: 30, minP: time.Second, maxP: time.Hour, want: 30 * time.Second},
		{name: "fractions", seconds: 1.5, minP: time.Second, maxP: time.Hour, want: 1500 * time.Millisecond},
		{name: "zero takes the minimum", seconds: 0, minP: time.Second, maxP: time.Hour, want: time.Second, clamped: true},
		{name: "1e12 takes the maximum", seconds: 1e12, minP: time.Second, maxP: 24 * time.Hour, want: 24 * time.Hour, clamped: true},
		{name: "1e300 without a maximum does not overflow", seconds: 1e300, want: time.Duration(math.MaxInt64), clamped: true},
		{name: "infinity takes the maximum", seconds: math.Inf(1), minP: time.Second, maxP: time.Hour, want: time.Hour, clamped: true},
		{name: "exactly the maximum is not clamped", seconds: 3600, minP: time.Second, maxP: time.Hour, want: time.Hour},
		{name: "negative is refused", seconds: -0.5, minP: time.Second, maxP: time.Hour, err: true},
		{name: "not a number is refused", seconds: math.NaN(), minP: time.Second, maxP: time.Hour, err: true},
		{name: "no bounds", seconds: 0, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, note, err := pollInterval(tc.seconds, tc.minP, tc.maxP)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if tc.err {
				return
			}
			if got != tc.want || got < 0 {
				t.Errorf("interval = %s, want %s", got, tc.want)
			}
			if (note != "") != tc.clamped {
				t.Errorf("note = %q, want one: %v", note, tc.clamped)
			}
		})
	}
}

func TestPollNotBefore(t *testing.T) {
	exact := t0.Add(10*time.Second + 945*time.Millisecond)
	recorded := exact.Truncate(time.Second)
	cases := []struct {
		name     string
		recorded time.Time
		exact    time.Time
		known    bool
		want     time.Time
	}{
		{name: "the exact time when known", recorded: recorded, exact: exact, known: true, want: exact},
		{name: "whole seconds read back wait the second out: never early", recorded: recorded, want: recorded.Add(time.Second)},
		{name: "a time with a fraction is exact", recorded: exact, want: exact},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := pollNotBefore(tc.recorded, tc.exact, tc.known)
			if !got.Equal(tc.want) {
				t.Errorf("pollNotBefore = %s, want %s", got, tc.want)
			}
			if tc.known && got.Before(tc.exact) {
				t.Error("a poll would come early")
			}
		})
	}
}

func TestFallbackForInvalidStatus(t *testing.T) {
	gk := schema.GroupKind{Group: "bkplugin.io", Kind: "PluginInvocation"}
	invalid := classifyStatusWriteError(apierrors.NewInvalid(gk, "x", field.ErrorList{
		field.TooLong(field.NewPath("status", "conditions").Index(0).Child("message"), strings.Repeat("m", 40000), 32768)}))
	var ie *statusInvalidError
	if !errors.As(invalid, &ie) {
		t.Fatalf("a 422 is not classified as invalid: %T", invalid)
	}
	answered := transition{executed: true, status: bkv1.PluginInvocationStatus{State: bkv1.StateFail, InvokeCount: 1, Error: "x", Outputs: js(`{"a":1}`)}}
	fb, ok := tooLargeFallback(invocation(bkv1.StateEmpty), answered, invalid, t0)
	if !ok {
		t.Fatal("an invalid status write has no fallback: the invocation would stay stuck")
	}
	st := fb.status
	if st.State != bkv1.StateFail || st.Outputs != nil || st.InvokeCount != 1 || len(st.Error) > MaxErrorBytes ||
		!strings.HasPrefix(st.Error, "the API server refused the status the plugin's answer led to: ") {
		t.Errorf("fallback status = %+v", st)
	}
	if c := apimeta.FindStatusCondition(st.Conditions, bkv1.ConditionSucceeded); c == nil || c.Reason != bkv1.ReasonStatusRefused {
		t.Errorf("Succeeded condition = %+v", c)
	}
	if _, again := tooLargeFallback(invocation(bkv1.StateEmpty), fb, invalid, t0); again {
		t.Error("a refused fallback is fallen back from again: a loop")
	}
}
