package version

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/canary"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
)

// This file holds the PluginVersion reconciler's decisions: which older
// registration a duplicate yields to, the status an observation leads to,
// which changes are events and when to probe again. Each is a pure function
// of what the reconciler gathered (versionObservation); the reconciler only
// observes, patches status once and emits. Their tables are in
// pluginversion_decisions_test.go and need no cluster.

// versionObservation is what one reconcile of a PluginVersion gathered.
type versionObservation struct {
	// endpoint is the base URL the version's endpoint resolves to; empty
	// when it resolves to none.
	endpoint string
	// older is the older registration of the same plugin and version, when
	// there is one.
	older *bkv1.PluginVersion
	// result is the Ready condition's reason and message.
	result probeResult
	// compat compares the version with the one it replaces.
	compat compatibility
	// outcomes are the version's invocations that ended within its
	// canaryWindow.
	outcomes canary.Counts
}

// oldestOlder returns the oldest of siblings (other PluginVersions of plv's
// plugin and version) registered before plv, or nil. The oldest
// registration wins so that adding a duplicate never breaks what works.
func oldestOlder(siblings []bkv1.PluginVersion, plv *bkv1.PluginVersion) *bkv1.PluginVersion {
	var oldest *bkv1.PluginVersion
	for i := range siblings {
		s := &siblings[i]
		if !s.DeletionTimestamp.IsZero() || !versions.OlderObject(s, plv) {
			continue
		}
		if oldest == nil || versions.OlderObject(s, oldest) {
			oldest = s
		}
	}
	return oldest
}

// conflictResult is the Ready condition of plv, a duplicate of older.
func conflictResult(plv, older *bkv1.PluginVersion) probeResult {
	return probeResult{bkv1.VersionReasonConflict, fmt.Sprintf(
		"PluginVersion %s registers plugin %s version %s already (created %s); delete one of them",
		older.Name, plv.Spec.Plugin, plv.Spec.Version, older.CreationTimestamp.UTC().Format(time.RFC3339))}
}

// versionStatus is plv's status after obs: the endpoint, the Ready and
// Compatible conditions, when it was first served, and its canary.
// SetStatusCondition moves LastTransitionTime only when the status flips,
// which nextProbe's backoff relies on.
func versionStatus(plv *bkv1.PluginVersion, obs versionObservation, now time.Time) bkv1.PluginVersionStatus {
	st := *plv.Status.DeepCopy()
	st.EndpointURL = obs.endpoint
	status := metav1.ConditionFalse
	if obs.result.ready() {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type:               bkv1.ConditionReady,
		Status:             status,
		ObservedGeneration: plv.Generation,
		Reason:             obs.result.Reason,
		Message:            obs.result.Message,
	})
	if obs.result.ready() && st.ServedSince == nil {
		at := metav1.NewTime(now)
		st.ServedSince = &at
	}
	meta.SetStatusCondition(&st.Conditions, compatibleCondition(plv, obs.compat))
	applyCanary(&st, decideCanary(plv, obs.outcomes, now))
	st.ObservedGeneration = plv.Generation
	return st
}

// versionEvent is an event readinessEvent decided to emit.
type versionEvent struct {
	eventType, reason, note string
	// related is the older registration a Conflict names, or nil.
	related *bkv1.PluginVersion
}

// readinessEvent decides whether obs changes readiness, or the reason for
// its absence, against the conditions before it, and the event that says so.
func readinessEvent(before []metav1.Condition, obs versionObservation) (versionEvent, bool) {
	status := metav1.ConditionFalse
	if obs.result.ready() {
		status = metav1.ConditionTrue
	}
	if c := meta.FindStatusCondition(before, bkv1.ConditionReady); c != nil && c.Status == status && c.Reason == obs.result.Reason {
		return versionEvent{}, false
	}
	if obs.result.ready() {
		return versionEvent{eventType: corev1.EventTypeNormal, reason: EventReasonVersionReady, note: obs.result.Message}, true
	}
	return versionEvent{eventType: corev1.EventTypeWarning, reason: EventReasonVersionNotReady,
		note: obs.result.Reason + ": " + obs.result.Message, related: obs.older}, true
}

// nextProbe is how long to wait before probing plv again; 0 for a version
// in Conflict, which only the coming or going of a duplicate can change and
// the duplicates watch reconciles it then.
//
// A version that is not Ready backs off exponentially without a counter:
// the wait is the time since the Ready condition last turned False, clamped
// to [probeBackoffBase, MaxProbeBackoff]. Probes then land about 1s, 2s, 4s,
// 8s... after the version went down, and because LastTransitionTime lives in
// status the backoff carries over a manager restart.
func nextProbe(plv *bkv1.PluginVersion, opts Options, now time.Time) time.Duration {
	if versions.InConflict(plv) {
		return 0
	}
	c := meta.FindStatusCondition(plv.Status.Conditions, bkv1.ConditionReady)
	if c != nil && c.Status == metav1.ConditionTrue {
		return durationOr(opts.ProbeInterval, DefaultProbeInterval)
	}
	limit := durationOr(opts.MaxProbeBackoff, DefaultMaxProbeBackoff)
	wait := probeBackoffBase
	if c != nil {
		wait = max(now.Sub(c.LastTransitionTime.Time), probeBackoffBase)
	}
	return min(wait, limit)
}

// durationOr returns d, or def when d is not positive.
func durationOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
