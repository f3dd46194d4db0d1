package version

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
)

// maxCompatibleMessage bounds the Compatible condition's message, so that
// a version breaking hundreds of fields keeps a writable, readable status;
// compat.Report.Error already stops listing after 20 findings.
const maxCompatibleMessage = 2048

// compatibility is what the reconciler found comparing a version with the
// one it replaces (versions.Previous).
type compatibility struct {
	// previous is the version replaced, or nil.
	previous *bkv1.PluginVersion
	// report lists the breaking changes against previous.
	report compat.Report
	// err says a schema is not JSON.
	err error
}

// compatibleCondition is plv's Compatible condition after c: False with
// the findings (field path: rule: message) when plv breaks the callers of
// the version it replaces, True otherwise.
func compatibleCondition(plv *bkv1.PluginVersion, c compatibility) metav1.Condition {
	cond := metav1.Condition{Type: bkv1.ConditionCompatible, ObservedGeneration: plv.Generation}
	switch {
	case c.previous == nil:
		cond.Status, cond.Reason = metav1.ConditionTrue, bkv1.VersionReasonCompatible
		cond.Message = fmt.Sprintf("no earlier version of %s on the line of %s to stay compatible with", plv.Spec.Plugin, plv.Spec.Version)
	case c.err != nil:
		cond.Status, cond.Reason = metav1.ConditionFalse, bkv1.VersionReasonUncomparable
		cond.Message = fmt.Sprintf("cannot compare with %s (%s): %v", c.previous.Spec.Version, c.previous.Name, c.err)
	case !c.report.Compatible():
		cond.Status, cond.Reason = metav1.ConditionFalse, bkv1.VersionReasonBreaking
		cond.Message = fmt.Sprintf("breaks callers of %s (%s); give it a new major version: %s",
			c.previous.Spec.Version, c.previous.Name, c.report.Error())
	default:
		cond.Status, cond.Reason = metav1.ConditionTrue, bkv1.VersionReasonCompatible
		cond.Message = fmt.Sprintf("compatible with %s (%s)", c.previous.Spec.Version, c.previous.Name)
	}
	cond.Message = bound(cond.Message, maxCompatibleMessage)
	return cond
}

// compatibilityEvent decides whether the Compatible condition cond turned
// False (or changed its reason for being False) against before, and the
// event that says so.
func compatibilityEvent(before []metav1.Condition, cond metav1.Condition) (versionEvent, bool) {
	if cond.Status != metav1.ConditionFalse {
		return versionEvent{}, false
	}
	if c := meta.FindStatusCondition(before, bkv1.ConditionCompatible); c != nil && c.Status == cond.Status && c.Reason == cond.Reason {
		return versionEvent{}, false
	}
	return versionEvent{eventType: corev1.EventTypeWarning, reason: EventReasonBreaking, note: cond.Message}, true
}

// bound cuts s to at most n bytes, at a rune boundary, marking the cut.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = " …(truncated)"
	cut := n - len(mark)
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + mark
}
