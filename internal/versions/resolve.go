package versions

import (
	"errors"
	"fmt"

	"github.com/Masterminds/semver/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// ErrNoMatchingVersion is wrapped by ResolveVersion's error when no
// PluginVersion satisfies the request: the invocation cannot run and ends
// FAIL, unlike other errors, which may pass once the input is fixed.
var ErrNoMatchingVersion = errors.New("no matching version")

// NoMatchingVersionError says that no version of Plugin matches Requested.
// It matches ErrNoMatchingVersion with errors.Is.
type NoMatchingVersionError struct {
	// Plugin is the plugin code.
	Plugin string
	// Requested is the version or constraint that nothing matched.
	Requested string
}

// Error reads "no version of <code> matches <requested>", the message the
// invocation's error carries.
func (e *NoMatchingVersionError) Error() string {
	return fmt.Sprintf("no version of %s matches %s", e.Plugin, e.Requested)
}

// Is reports ErrNoMatchingVersion as the error's kind.
func (e *NoMatchingVersionError) Is(target error) bool { return target == ErrNoMatchingVersion }

// Request is what Resolve resolves: a plugin, the version or range the
// caller asked for and the invocation's trace id, which decides a canary's
// share.
type Request struct {
	// Plugin is the plugin code.
	Plugin string
	// Version is an exact version or a semver constraint.
	Version string
	// TraceID is the invocation's trace id; empty never picks a canary.
	TraceID string
}

// ResolveVersion is Resolve without a trace id: a range never resolves to
// a canary that takes less than all of it.
func ResolveVersion(versions []bkv1.PluginVersion, code, requested string) (*bkv1.PluginVersion, error) {
	return Resolve(versions, Request{Plugin: code, Version: requested})
}

// Resolve picks the PluginVersion of req.Plugin that serves req.Version.
// versions are the plugin's versions in one namespace; versions of other
// plugins are ignored.
//
// req.Version is either an exact version ("1.1.0"), which matches only that
// spec.version whether Ready, Compatible or a rolled-back canary or not
// (calls to a pod that is down are retried; naming a version is a
// deliberate choice), or a Masterminds semver constraint ("^1.0", ">=1.2,
// <2", "1.x", "*"), which resolves to the newest Ready version that
// satisfies it, or, when none of those is Ready yet, the newest that
// satisfies it, so that a version registered a moment ago is not refused
// while its first probe runs. A range never resolves to a version marked
// Compatible=False or to a canary the manager rolled back. When the pick
// has spec.canary, only the trace ids InCanary admits get it; the others
// get the next version below it that the same rules pick.
// A version in Conflict (a duplicate of an older object) is never chosen.
// Prereleases satisfy only constraints that name a prerelease.
//
// The error wraps ErrNoMatchingVersion when nothing matches.
func Resolve(versions []bkv1.PluginVersion, req Request) (*bkv1.PluginVersion, error) {
	code, requested := req.Plugin, req.Version
	// An exact version is checked first: as a constraint "1.1.0" would mean
	// the same, but the exact rule must not prefer Ready over not Ready.
	if _, err := semver.StrictNewVersion(requested); err == nil {
		var best *bkv1.PluginVersion
		for i := range versions {
			v := &versions[i]
			if v.Spec.Plugin != code || v.Spec.Version != requested || InConflict(v) {
				continue
			}
			if best == nil || OlderObject(v, best) {
				best = v
			}
		}
		if best == nil {
			return nil, &NoMatchingVersionError{Plugin: code, Requested: requested}
		}
		return best, nil
	}

	constraint, err := semver.NewConstraint(requested)
	if err != nil {
		return nil, fmt.Errorf("invalid version constraint %q: %w", requested, err)
	}
	pick, pickV := newestMatch(versions, code, func(sv *semver.Version, v *bkv1.PluginVersion) bool {
		return constraint.Check(sv)
	})
	if pick == nil {
		return nil, &NoMatchingVersionError{Plugin: code, Requested: requested}
	}
	if pick.Spec.Canary == nil || InCanary(pick, req.TraceID) {
		return pick, nil
	}
	// Outside the canary's share: the version the range resolved to before
	// the canary was registered, if there is one.
	fallback, _ := newestMatch(versions, code, func(sv *semver.Version, v *bkv1.PluginVersion) bool {
		return sv.LessThan(pickV) && constraint.Check(sv)
	})
	if fallback == nil {
		return pick, nil
	}
	return fallback, nil
}

// newestMatch returns the newest Ready version of code that ok accepts and
// a range may resolve to, or, when none is Ready, the newest such version.
func newestMatch(versions []bkv1.PluginVersion, code string, ok func(*semver.Version, *bkv1.PluginVersion) bool) (*bkv1.PluginVersion, *semver.Version) {
	var newest, newestReady *bkv1.PluginVersion
	var newestV, newestReadyV *semver.Version
	for i := range versions {
		v := &versions[i]
		if v.Spec.Plugin != code || InConflict(v) || Incompatible(v) || CanaryRolledBack(v) {
			continue
		}
		sv, err := semver.StrictNewVersion(v.Spec.Version)
		if err != nil {
			// The CRD admits only semver; an object that is not cannot be
			// meant by any constraint.
			continue
		}
		if !ok(sv, v) {
			continue
		}
		if better(sv, v, newestV, newest) {
			newest, newestV = v, sv
		}
		if isReady(v) && better(sv, v, newestReadyV, newestReady) {
			newestReady, newestReadyV = v, sv
		}
	}
	if newestReady != nil {
		return newestReady, newestReadyV
	}
	return newest, newestV
}

// better reports whether candidate v (semver sv) beats the current pick:
// a newer version, or, for the same version, the older object, so that the
// pick does not depend on list order.
func better(sv *semver.Version, v *bkv1.PluginVersion, curV *semver.Version, cur *bkv1.PluginVersion) bool {
	if cur == nil {
		return true
	}
	if c := sv.Compare(curV); c != 0 {
		return c > 0
	}
	return OlderObject(v, cur)
}

// OlderObject orders duplicates as the conflict rule does: the earlier
// creationTimestamp wins, then the smaller name.
func OlderObject(a, b *bkv1.PluginVersion) bool {
	ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.Name < b.Name
}

// isReady reports whether the version's Ready condition is True.
func isReady(plv *bkv1.PluginVersion) bool {
	return meta.IsStatusConditionTrue(plv.Status.Conditions, bkv1.ConditionReady)
}

// InConflict reports whether the version was found to duplicate an older one.
func InConflict(plv *bkv1.PluginVersion) bool {
	c := meta.FindStatusCondition(plv.Status.Conditions, bkv1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionFalse && c.Reason == bkv1.VersionReasonConflict
}
