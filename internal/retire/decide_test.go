package retire

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func TestDecide(t *testing.T) {
	deleted := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	cases := []struct {
		name       string
		live       int
		grace      time.Duration
		now        time.Time
		release    bool
		requeue    time.Duration
		status     metav1.ConditionStatus
		reason     string
		messageHas string
	}{
		{"unused releases at once", 0, time.Hour, deleted, true, 0, metav1.ConditionFalse, bkv1.RetireReasonUnused, "no live invocation"},
		{"in use holds until the deadline", 2, time.Hour, deleted.Add(10 * time.Minute), false, 50 * time.Minute, metav1.ConditionTrue, bkv1.RetireReasonInUse, "2 live invocations"},
		{"one invocation is worded singular", 1, time.Hour, deleted, false, time.Hour, metav1.ConditionTrue, bkv1.RetireReasonInUse, "1 live invocation to finish"},
		{"the deadline itself releases", 1, time.Hour, deleted.Add(time.Hour), true, 0, metav1.ConditionFalse, bkv1.RetireReasonGracePeriodOver, "1 live invocation still live"},
		{"past the deadline releases", 3, time.Hour, deleted.Add(2 * time.Hour), true, 0, metav1.ConditionFalse, bkv1.RetireReasonGracePeriodOver, "3 live invocations"},
		{"a zero grace period never holds", 3, 0, deleted, true, 0, metav1.ConditionFalse, bkv1.RetireReasonGracePeriodOver, "grace period of 0s"},
		{"unused past the deadline is unused", 0, time.Minute, deleted.Add(time.Hour), true, 0, metav1.ConditionFalse, bkv1.RetireReasonUnused, "PluginVersion hello-1-0-0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide("PluginVersion", "hello-1-0-0", deleted, tc.grace, tc.live, tc.now)
			if d.Release != tc.release || d.RequeueAfter != tc.requeue {
				t.Errorf("release, requeue = %v, %v; want %v, %v", d.Release, d.RequeueAfter, tc.release, tc.requeue)
			}
			c := d.Condition
			if c.Type != bkv1.ConditionRetiring || c.Status != tc.status || c.Reason != tc.reason {
				t.Errorf("condition = %s %s %s; want Retiring %s %s", c.Type, c.Status, c.Reason, tc.status, tc.reason)
			}
			if !strings.Contains(c.Message, tc.messageHas) {
				t.Errorf("message %q does not say %q", c.Message, tc.messageHas)
			}
		})
	}
}

func TestGracePeriod(t *testing.T) {
	if got := GracePeriod(nil, time.Hour); got != time.Hour {
		t.Errorf("unset: %s, want the default 1h", got)
	}
	if got := GracePeriod(ptr.To[int64](0), time.Hour); got != 0 {
		t.Errorf("0 seconds: %s, want 0", got)
	}
	if got := GracePeriod(ptr.To[int64](90), time.Hour); got != 90*time.Second {
		t.Errorf("90 seconds: %s", got)
	}
}

func TestLiveVersionKey(t *testing.T) {
	inv := func(spec, resolved string, state bkv1.InvocationState) *bkv1.PluginInvocation {
		i := &bkv1.PluginInvocation{}
		i.Spec.Plugin, i.Spec.Version = "hello", spec
		i.Status.ResolvedVersion, i.Status.State = resolved, state
		return i
	}
	deleting := inv("1.0.0", "1.0.0", bkv1.StatePoll)
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	cases := []struct {
		name string
		inv  *bkv1.PluginInvocation
		want string
	}{
		{"resolved and polling", inv("^1", "1.2.0", bkv1.StatePoll), "hello@1.2.0"},
		{"waiting for a callback", inv("1.2.0", "1.2.0", bkv1.StateCallback), "hello@1.2.0"},
		{"exact and not reconciled yet", inv("1.2.0", "", ""), "hello@1.2.0"},
		{"a constraint not resolved yet holds nothing", inv("^1", "", ""), ""},
		{"succeeded", inv("1.2.0", "1.2.0", bkv1.StateSuccess), ""},
		{"failed", inv("1.2.0", "1.2.0", bkv1.StateFail), ""},
		{"being deleted", deleting, ""},
	}
	for _, tc := range cases {
		if got := liveVersionKey(tc.inv); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
