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

// ResolveVersion picks the PluginVersion of plugin code that serves the
// requested version. versions are the plugin's versions in one namespace;
// versions of other plugins are ignored.
//
// requested is either an exact version ("1.1.0"), which matches only that
// spec.version whether Ready or not (calls to a pod that is down are
// retried), or a Masterminds semver constraint ("^1.0", ">=1.2, <2", "1.x",
// "*"), which resolves to the newest Ready version that satisfies it, or,
// when none of those is Ready yet, the newest that satisfies it, so that a
// version registered a moment ago is not refused while its first probe runs.
// A version in Conflict (a duplicate of an older object) is never chosen.
// Prereleases satisfy only constraints that name a prerelease.
//
// The error wraps ErrNoMatchingVersion when nothing matches.
func ResolveVersion(versions []bkv1.PluginVersion, code, requested string) (*bkv1.PluginVersion, error) {
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
	var newest, newestReady *bkv1.PluginVersion
	var newestV, newestReadyV *semver.Version
	for i := range versions {
		v := &versions[i]
		if v.Spec.Plugin != code || InConflict(v) {
			continue
		}
		sv, err := semver.StrictNewVersion(v.Spec.Version)
		if err != nil {
			// The CRD admits only semver; an object that is not cannot be
			// meant by any constraint.
			continue
		}
		if !constraint.Check(sv) {
			continue
		}
		if better(sv, v, newestV, newest) {
			newest, newestV = v, sv
		}
		if isReady(v) && better(sv, v, newestReadyV, newestReady) {
			newestReady, newestReadyV = v, sv
		}
	}
	switch {
	case newestReady != nil:
		return newestReady, nil
	case newest != nil:
		return newest, nil
	default:
		return nil, &NoMatchingVersionError{Plugin: code, Requested: requested}
	}
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
