package version

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func TestNextProbe(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ready := func(status metav1.ConditionStatus, since time.Duration) []metav1.Condition {
		return []metav1.Condition{{Type: bkv1.ConditionReady, Status: status, Reason: "R",
			LastTransitionTime: metav1.NewTime(now.Add(-since))}}
	}
	custom := Options{ProbeInterval: 2 * time.Minute, MaxProbeBackoff: 30 * time.Second}
	tests := []struct {
		name       string
		opts       Options
		conditions []metav1.Condition
		want       time.Duration
	}{
		{name: "Ready waits the default interval", conditions: ready(metav1.ConditionTrue, time.Hour), want: 5 * time.Minute},
		{name: "Ready waits the configured interval", opts: custom, conditions: ready(metav1.ConditionTrue, time.Second), want: 2 * time.Minute},
		{name: "no condition yet starts at the base", want: time.Second},
		{name: "just went down waits the base", conditions: ready(metav1.ConditionFalse, 0), want: time.Second},
		{name: "down for 1s waits 1s more", conditions: ready(metav1.ConditionFalse, time.Second), want: time.Second},
		{name: "down for 2s waits 2s more", conditions: ready(metav1.ConditionFalse, 2*time.Second), want: 2 * time.Second},
		{name: "down for 4s waits 4s more", conditions: ready(metav1.ConditionFalse, 4*time.Second), want: 4 * time.Second},
		{name: "down for long waits the default cap", conditions: ready(metav1.ConditionFalse, time.Hour), want: 5 * time.Minute},
		{name: "down for long waits the configured cap", opts: custom, conditions: ready(metav1.ConditionFalse, time.Hour), want: 30 * time.Second},
		{name: "a cap below the base wins", opts: Options{MaxProbeBackoff: 100 * time.Millisecond},
			conditions: ready(metav1.ConditionFalse, 0), want: 100 * time.Millisecond},
		{name: "a conflict waits for the duplicates watch",
			conditions: []metav1.Condition{{Type: bkv1.ConditionReady, Status: metav1.ConditionFalse, Reason: bkv1.VersionReasonConflict}}, want: 0},
		{name: "a transition time in the future waits the base", conditions: ready(metav1.ConditionFalse, -time.Hour), want: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			plv := &bkv1.PluginVersion{Status: bkv1.PluginVersionStatus{Conditions: tt.conditions}}
			if got := nextProbe(plv, opts, now); got != tt.want {
				t.Errorf("nextProbe = %s, want %s", got, tt.want)
			}
		})
	}
}
