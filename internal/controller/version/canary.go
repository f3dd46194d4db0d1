package version

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/canary"
)

// Defaults of spec.canary's optional fields, as the CRD defaults them, for
// objects that reach the reconciler without them (a typed client's zero
// values).
const (
	defaultCanaryWindow     = 5 * time.Minute
	defaultCanaryMinSamples = 20
	// DefaultCanaryCheckInterval is how often an Active canary's FAIL rate
	// is judged.
	DefaultCanaryCheckInterval = 5 * time.Second
)

// canaryWindow is how far back plv's outcomes count now: its window, but
// never before the canary was (re-)armed, so that the failures that rolled
// back an earlier spec.canary do not roll back the new one. Zero when the
// canary is not Active for its current spec (nothing to count).
func canaryWindow(plv *bkv1.PluginVersion, now time.Time) time.Duration {
	c, st := plv.Spec.Canary, plv.Status.Canary
	if c == nil || st == nil || st.State != bkv1.CanaryStateActive || !equality.Semantic.DeepEqual(st.Spec, c) {
		return 0
	}
	w := windowOf(c)
	if st.LastTransitionTime != nil {
		w = min(w, now.Sub(st.LastTransitionTime.Time))
	}
	return max(w, 0)
}

// windowOf is c's window, or the default.
func windowOf(c *bkv1.CanarySpec) time.Duration {
	if c.Window == nil || c.Window.Duration <= 0 {
		return defaultCanaryWindow
	}
	return min(c.Window.Duration, canary.MaxWindow)
}

// canaryDecision is what decideCanary decided for a version's canary.
type canaryDecision struct {
	// status is the new status.canary (nil: none).
	status *bkv1.CanaryStatus
	// condition is the new Canary condition, nil to remove it.
	condition *metav1.Condition
}

// decideCanary decides plv's canary status from counts, its outcomes within
// canaryWindow: a version without spec.canary has none; a new or changed
// spec.canary starts Active with nothing counted; an Active canary whose
// FAIL rate over at least MinSamples outcomes exceeds its threshold is
// RolledBack, with the rate in the message; a rollback holds
// until spec.canary changes.
func decideCanary(plv *bkv1.PluginVersion, counts canary.Counts, now time.Time) canaryDecision {
	c := plv.Spec.Canary
	if c == nil {
		return canaryDecision{}
	}
	st := plv.Status.Canary.DeepCopy()
	if st == nil || !equality.Semantic.DeepEqual(st.Spec, c) {
		at := metav1.NewTime(now)
		st = &bkv1.CanaryStatus{State: bkv1.CanaryStateActive, Spec: c.DeepCopy(), LastTransitionTime: &at}
		counts = canary.Counts{}
	}
	minSamples := c.MinSamples
	if minSamples <= 0 {
		minSamples = defaultCanaryMinSamples
	}
	d := canaryDecision{status: st}
	if st.State == bkv1.CanaryStateActive {
		st.Samples, st.Failures = clampInt32(counts.Samples), clampInt32(counts.Failures)
		if counts.Samples >= int(minSamples) && counts.Failures*100 > int(c.FailureThresholdPercent)*counts.Samples {
			at := metav1.NewTime(now)
			st.State, st.LastTransitionTime = bkv1.CanaryStateRolledBack, &at
			st.Message = fmt.Sprintf("FAIL rate %d%% (%d of %d invocations within %s) exceeded %d%%; ranges resolve to the previous version until spec.canary changes",
				counts.Failures*100/counts.Samples, counts.Failures, counts.Samples, windowOf(c), c.FailureThresholdPercent)
		}
	}
	cond := metav1.Condition{Type: bkv1.ConditionCanary, ObservedGeneration: plv.Generation, Reason: st.State}
	if st.State == bkv1.CanaryStateRolledBack {
		cond.Status, cond.Message = metav1.ConditionFalse, st.Message
	} else {
		cond.Status = metav1.ConditionTrue
		cond.Message = fmt.Sprintf("takes %d%% of the invocations its ranges resolve; rolled back when more than %d%% of at least %d within %s end FAIL",
			c.Weight, c.FailureThresholdPercent, minSamples, windowOf(c))
	}
	d.condition = &cond
	return d
}

// canaryEvent decides whether the canary was rolled back between before
// and after, and the event that says why.
func canaryEvent(before, after *bkv1.CanaryStatus) (versionEvent, bool) {
	if after == nil || after.State != bkv1.CanaryStateRolledBack {
		return versionEvent{}, false
	}
	if before != nil && before.State == bkv1.CanaryStateRolledBack && equality.Semantic.DeepEqual(before.Spec, after.Spec) {
		return versionEvent{}, false
	}
	return versionEvent{eventType: corev1.EventTypeWarning, reason: EventReasonCanaryRolledBack, note: after.Message}, true
}

// applyCanary writes d into st.
func applyCanary(st *bkv1.PluginVersionStatus, d canaryDecision) {
	st.Canary = d.status
	if d.condition == nil {
		meta.RemoveStatusCondition(&st.Conditions, bkv1.ConditionCanary)
		return
	}
	meta.SetStatusCondition(&st.Conditions, *d.condition)
}

// nextCanaryCheck is how soon an Active canary must be judged again; 0
// when plv has none to judge.
func nextCanaryCheck(plv *bkv1.PluginVersion, opts Options) time.Duration {
	st := plv.Status.Canary
	if plv.Spec.Canary == nil || st == nil || st.State != bkv1.CanaryStateActive {
		return 0
	}
	return durationOr(opts.CanaryCheckInterval, DefaultCanaryCheckInterval)
}

// clampInt32 converts n for a status field.
func clampInt32(n int) int32 {
	return int32(min(n, 1<<31-1))
}
