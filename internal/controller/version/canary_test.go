package version

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/canary"
)

func TestDecideCanary(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	earlier := metav1.NewTime(now.Add(-time.Minute))
	spec := bkv1.CanarySpec{Weight: 10, FailureThresholdPercent: 50, Window: &metav1.Duration{Duration: 5 * time.Minute}, MinSamples: 20}
	active := func(c bkv1.CanarySpec) *bkv1.CanaryStatus {
		return &bkv1.CanaryStatus{State: bkv1.CanaryStateActive, Spec: &c, LastTransitionTime: &earlier}
	}
	rolledBack := &bkv1.CanaryStatus{State: bkv1.CanaryStateRolledBack, Spec: &spec, Samples: 30, Failures: 20, Message: "why", LastTransitionTime: &earlier}
	other := spec
	other.Weight = 5
	tests := []struct {
		name       string
		spec       *bkv1.CanarySpec
		status     *bkv1.CanaryStatus
		counts     canary.Counts
		wantState  string // "" for no status
		wantCond   metav1.ConditionStatus
		wantCounts [2]int32
		wantSince  *metav1.Time // LastTransitionTime; nil: now
	}{
		{"no canary, no status", nil, nil, canary.Counts{}, "", "", [2]int32{}, nil},
		{"a removed canary drops its status", nil, active(spec), canary.Counts{}, "", "", [2]int32{}, nil},
		{"a new canary starts Active", &spec, nil, canary.Counts{Samples: 50, Failures: 50}, bkv1.CanaryStateActive, metav1.ConditionTrue, [2]int32{}, nil},
		{"too few samples: not judged", &spec, active(spec), canary.Counts{Samples: 19, Failures: 19}, bkv1.CanaryStateActive, metav1.ConditionTrue, [2]int32{19, 19}, &earlier},
		{"at the threshold: kept", &spec, active(spec), canary.Counts{Samples: 40, Failures: 20}, bkv1.CanaryStateActive, metav1.ConditionTrue, [2]int32{40, 20}, &earlier},
		{"past the threshold: rolled back", &spec, active(spec), canary.Counts{Samples: 40, Failures: 21}, bkv1.CanaryStateRolledBack, metav1.ConditionFalse, [2]int32{40, 21}, nil},
		{"a rollback holds", &spec, rolledBack, canary.Counts{Samples: 100}, bkv1.CanaryStateRolledBack, metav1.ConditionFalse, [2]int32{30, 20}, &earlier},
		{"a changed canary re-arms", &other, rolledBack, canary.Counts{Samples: 100, Failures: 100}, bkv1.CanaryStateActive, metav1.ConditionTrue, [2]int32{}, nil},
		{"threshold 0: any failure rolls back", &bkv1.CanarySpec{Weight: 10, MinSamples: 1}, active(bkv1.CanarySpec{Weight: 10, MinSamples: 1}),
			canary.Counts{Samples: 1, Failures: 1}, bkv1.CanaryStateRolledBack, metav1.ConditionFalse, [2]int32{1, 1}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plv := &bkv1.PluginVersion{Spec: bkv1.PluginVersionSpec{Plugin: "hello", Version: "1.3.0", Canary: tc.spec}}
			plv.Status.Canary = tc.status
			plv.Status.Conditions = []metav1.Condition{{Type: bkv1.ConditionCanary, Status: metav1.ConditionTrue, Reason: bkv1.CanaryStateActive}}
			var st bkv1.PluginVersionStatus
			st.Conditions = plv.Status.Conditions
			applyCanary(&st, decideCanary(plv, tc.counts, now))
			cond := findCondition(st.Conditions, bkv1.ConditionCanary)
			if tc.wantState == "" {
				if st.Canary != nil || cond != nil {
					t.Fatalf("status.canary = %+v, condition %+v; want none", st.Canary, cond)
				}
				return
			}
			if st.Canary == nil || st.Canary.State != tc.wantState {
				t.Fatalf("status.canary = %+v, want state %s", st.Canary, tc.wantState)
			}
			if cond == nil || cond.Status != tc.wantCond || cond.Reason != tc.wantState {
				t.Errorf("Canary condition = %+v, want %s/%s", cond, tc.wantCond, tc.wantState)
			}
			if got := [2]int32{st.Canary.Samples, st.Canary.Failures}; got != tc.wantCounts {
				t.Errorf("samples, failures = %v, want %v", got, tc.wantCounts)
			}
			since := metav1.NewTime(now)
			if tc.wantSince != nil {
				since = *tc.wantSince
			}
			if !st.Canary.LastTransitionTime.Equal(&since) {
				t.Errorf("lastTransitionTime = %v, want %v", st.Canary.LastTransitionTime, since)
			}
			if tc.wantState == bkv1.CanaryStateRolledBack && tc.status.State != bkv1.CanaryStateRolledBack {
				if !strings.Contains(st.Canary.Message, "exceeded") || cond.Message != st.Canary.Message {
					t.Errorf("rollback message %q (condition %q) does not say why", st.Canary.Message, cond.Message)
				}
				if _, ok := canaryEvent(tc.status, st.Canary); !ok {
					t.Error("a rollback emits no event")
				}
			}
		})
	}
}

func TestCanaryEventOnlyOnRollback(t *testing.T) {
	spec := &bkv1.CanarySpec{Weight: 10}
	rb := &bkv1.CanaryStatus{State: bkv1.CanaryStateRolledBack, Spec: spec, Message: "FAIL rate"}
	act := &bkv1.CanaryStatus{State: bkv1.CanaryStateActive, Spec: spec}
	if _, ok := canaryEvent(rb, rb); ok {
		t.Error("a rollback that holds emits again")
	}
	if _, ok := canaryEvent(nil, act); ok {
		t.Error("an Active canary emits a rollback")
	}
	if ev, ok := canaryEvent(act, rb); !ok || ev.reason != EventReasonCanaryRolledBack || ev.note != "FAIL rate" {
		t.Errorf("canaryEvent = %+v, %v", ev, ok)
	}
}

func TestCanaryWindow(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	spec := bkv1.CanarySpec{Weight: 10, Window: &metav1.Duration{Duration: 5 * time.Minute}}
	armed := func(ago time.Duration, state string, s bkv1.CanarySpec) *bkv1.CanaryStatus {
		at := metav1.NewTime(now.Add(-ago))
		return &bkv1.CanaryStatus{State: state, Spec: &s, LastTransitionTime: &at}
	}
	other := spec
	other.Weight = 20
	tests := []struct {
		name   string
		spec   *bkv1.CanarySpec
		status *bkv1.CanaryStatus
		want   time.Duration
	}{
		{"no canary", nil, nil, 0},
		{"not observed yet", &spec, nil, 0},
		{"armed long ago: the window", &spec, armed(time.Hour, bkv1.CanaryStateActive, spec), 5 * time.Minute},
		{"armed a minute ago: since then", &spec, armed(time.Minute, bkv1.CanaryStateActive, spec), time.Minute},
		{"rolled back: nothing to count", &spec, armed(time.Hour, bkv1.CanaryStateRolledBack, spec), 0},
		{"spec changed: nothing until re-armed", &spec, armed(time.Hour, bkv1.CanaryStateActive, other), 0},
		{"no window: the default", &bkv1.CanarySpec{Weight: 1}, armed(time.Hour, bkv1.CanaryStateActive, bkv1.CanarySpec{Weight: 1}), defaultCanaryWindow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plv := &bkv1.PluginVersion{Spec: bkv1.PluginVersionSpec{Canary: tc.spec}, Status: bkv1.PluginVersionStatus{Canary: tc.status}}
			if got := canaryWindow(plv, now); got != tc.want {
				t.Errorf("canaryWindow = %s, want %s", got, tc.want)
			}
		})
	}
}

// findCondition returns the condition of type t, or nil.
func findCondition(cs []metav1.Condition, t string) *metav1.Condition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}
